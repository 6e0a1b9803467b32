/**
 * HTTP helpers shared by the native provider adapters: endpoint URLs,
 * `Retry-After`, error details and token counts read from provider JSON.
 */
import type { ProviderName } from '../../lib/catalog';
import { ProviderError } from './types';

/** Maximum characters of a provider's error text kept in a message. */
const MAX_ERROR_DETAIL_CHARS = 300;

/** Joins a base URL and a path with exactly one slash between them. */
export function joinUrl(baseUrl: string, path: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}

/**
 * Returns whether repeating a request that failed with this HTTP status may
 * succeed: timeouts (408), conflicts (409), rate limits (429) and server
 * errors, including Anthropic's 529 "overloaded".
 */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/**
 * Parses a `Retry-After` header, either delay-seconds or an HTTP date, into
 * seconds from `nowMs`. Returns undefined when the header is missing or
 * invalid; a date in the past gives 0.
 */
export function parseRetryAfter(
  value: string | null,
  nowMs: number = Date.now(),
): number | undefined {
  const trimmed = value?.trim() ?? '';
  if (trimmed === '') {
    return undefined;
  }
  if (/^\d+(\.\d+)?$/.test(trimmed)) {
    return Number(trimmed);
  }
  // Every HTTP-date form names the month, and requiring a letter keeps
  // Date.parse, which is lenient, from reading "-5" as a year.
  const date = /[a-z]/i.test(trimmed) ? Date.parse(trimmed) : Number.NaN;
  if (Number.isNaN(date)) {
    return undefined;
  }
  return Math.max(0, Math.ceil((date - nowMs) / 1000));
}

/** Cuts a provider's error text to a length that fits in a log line. */
export function truncateDetail(text: string): string {
  return text.length > MAX_ERROR_DETAIL_CHARS
    ? `${text.slice(0, MAX_ERROR_DETAIL_CHARS)}…`
    : text;
}

/** Describes a caught value in one line, with the message of its cause. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) {
    return String(error);
  }
  const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
  return `${error.message}${cause}`;
}

/** Reads a response body as text, or returns '' when reading fails. */
export async function readBodyText(response: Response): Promise<string> {
  try {
    return await response.text();
  } catch {
    return '';
  }
}

/** Parses JSON, returning undefined instead of throwing on invalid text. */
export function parseJsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Converts a token count from provider JSON to a non-negative integer, 0 when missing. */
export function toTokenCount(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0
    ? Math.round(value)
    : 0;
}

/** Returns whether a value is a non-null, non-array object. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

interface PostStreamOptions {
  provider: ProviderName;
  url: string;
  headers: Record<string, string>;
  body: unknown;
  signal: AbortSignal;
}

/**
 * Posts a JSON request whose response is an event stream. Throws
 * ProviderError (retryable) when the server cannot be reached; rethrows
 * the abort error unchanged when the caller's signal aborted.
 */
export async function postForStream(
  options: PostStreamOptions,
): Promise<Response> {
  try {
    return await fetch(options.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        ...options.headers,
      },
      body: JSON.stringify(options.body),
      signal: options.signal,
    });
  } catch (error) {
    if (options.signal.aborted) {
      throw error;
    }
    throw new ProviderError({
      provider: options.provider,
      message: `Could not reach ${options.provider} at ${new URL(options.url).origin}: ${describeError(error)}. Check the base URL and the network, then try again.`,
      retryable: true,
      cause: error,
    });
  }
}

/**
 * Wraps an error thrown while reading a stream: a ProviderError or the
 * caller's abort passes unchanged, anything else (a dropped connection)
 * becomes a retryable ProviderError.
 */
export function toStreamError(
  provider: ProviderName,
  error: unknown,
  signal: AbortSignal,
): unknown {
  if (signal.aborted || error instanceof ProviderError) {
    return error;
  }
  return new ProviderError({
    provider,
    message: `The ${provider} stream broke before the answer finished: ${describeError(error)}.`,
    retryable: true,
    cause: error,
  });
}
