/**
 * HTTP errors of the backend. Every non-2xx response carries the JSON of
 * errorBodySchema: a stable code, a sentence a person can act on, and the
 * field, reset time or wait that applies.
 */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { ErrorBody, ErrorCode } from '../../lib/protocol';

export interface HttpErrorDetails {
  /** The request field at fault, on invalid_request. */
  field?: string;
  /** When the allowance resets, on allowance_exhausted. */
  resetAt?: Date;
  /** Seconds to wait, on rate_limited. */
  retryAfterSeconds?: number;
  /** The limit that was reached, sent as RateLimit-* headers, on rate_limited. */
  rateLimit?: RateLimitHeaders;
}

/**
 * Values of the RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset and
 * RateLimit-Policy headers (IETF draft "RateLimit header fields for HTTP").
 */
export interface RateLimitHeaders {
  limit: number;
  remaining: number;
  /** Seconds until the window restarts. */
  resetSeconds: number;
  /** Window length in seconds. */
  windowSeconds: number;
}

/** Sets the RateLimit-* headers on a set of response headers. */
export function setRateLimitHeaders(
  headers: Headers,
  rateLimit: RateLimitHeaders,
): void {
  headers.set('ratelimit-limit', String(rateLimit.limit));
  headers.set('ratelimit-remaining', String(rateLimit.remaining));
  headers.set('ratelimit-reset', String(rateLimit.resetSeconds));
  headers.set(
    'ratelimit-policy',
    `${rateLimit.limit};w=${rateLimit.windowSeconds}`,
  );
}

/** An error that becomes an HTTP response with an error body. */
export class HttpError extends Error {
  readonly status: ContentfulStatusCode;
  readonly code: ErrorCode;
  readonly details: HttpErrorDetails;

  constructor(options: {
    status: ContentfulStatusCode;
    code: ErrorCode;
    message: string;
    details?: HttpErrorDetails;
    cause?: unknown;
  }) {
    super(options.message, { cause: options.cause });
    this.name = 'HttpError';
    this.status = options.status;
    this.code = options.code;
    this.details = options.details ?? {};
  }
}

/** Builds the error body for a code, a message and details. */
export function createErrorBody(
  code: ErrorCode,
  message: string,
  details: HttpErrorDetails = {},
): ErrorBody {
  const error: ErrorBody['error'] = { code, message };
  if (details.field !== undefined) {
    error.field = details.field;
  }
  if (details.resetAt !== undefined) {
    error.resetAt = details.resetAt.toISOString();
  }
  if (details.retryAfterSeconds !== undefined) {
    error.retryAfterSeconds = details.retryAfterSeconds;
  }
  return { error };
}

/**
 * Sends an HttpError as a JSON response, with Retry-After and the
 * RateLimit-* headers when they apply.
 */
export function sendHttpError(context: Context, error: HttpError): Response {
  if (error.details.retryAfterSeconds !== undefined) {
    context.header(
      'retry-after',
      String(Math.ceil(error.details.retryAfterSeconds)),
    );
  }
  const response = context.json(
    createErrorBody(error.code, error.message, error.details),
    error.status,
  );
  if (error.details.rateLimit !== undefined) {
    setRateLimitHeaders(response.headers, error.details.rateLimit);
  }
  return response;
}
