/** The error the backend client throws, with the facts the UI needs. */
import type { AnswerErrorCode } from './database';

export interface BackendErrorOptions {
  code: AnswerErrorCode;
  /** Description of the failure, for logs and for codes without a sentence of their own. */
  message: string;
  /** HTTP status of the response, when there was one. */
  status?: number;
  /** ISO time the allowance resets, on `allowance_exhausted`. */
  resetAt?: string;
  /** Seconds to wait, on `rate_limited`. */
  retryAfterSeconds?: number;
  /** Allowance tokens still free, on `allowance_exhausted`. */
  remaining?: number;
  /** Request field at fault, on `invalid_request`. */
  field?: string;
  cause?: unknown;
}

/** A failed call to the backend: an error response, a bad stream or no answer. */
export class BackendError extends Error {
  readonly code: AnswerErrorCode;
  readonly status: number | undefined;
  readonly resetAt: string | undefined;
  readonly retryAfterSeconds: number | undefined;
  readonly remaining: number | undefined;
  readonly field: string | undefined;

  constructor(options: BackendErrorOptions) {
    super(options.message, { cause: options.cause });
    this.name = 'BackendError';
    this.code = options.code;
    this.status = options.status;
    this.resetAt = options.resetAt;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.remaining = options.remaining;
    this.field = options.field;
  }
}

/** Type guard for BackendError, safe across module copies. */
export function isBackendError(error: unknown): error is BackendError {
  return error instanceof Error && error.name === 'BackendError';
}

/** Returns whether an error is the rejection of an aborted fetch or stream read. */
export function isAbortError(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    'name' in error &&
    (error.name === 'AbortError' || error.name === 'TimeoutError')
  );
}
