/**
 * Rate limits as the routes apply them: a rejected request becomes a 429
 * rate_limited error with Retry-After, the RateLimit-* headers and a
 * sentence saying when to try again.
 */
import type { Context } from 'hono';
import { HttpError, type RateLimitHeaders } from '../http/errors';
import type { RateLimitDecision, RateLimiter } from './rate-limiter';

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;

/** Converts a decision to the RateLimit-* header values. */
export function toRateLimitHeaders(
  decision: RateLimitDecision,
): RateLimitHeaders {
  return {
    limit: decision.limit,
    remaining: decision.remaining,
    resetSeconds: Math.ceil(decision.resetMs / 1000),
    windowSeconds: Math.round(decision.windowMs / 1000),
  };
}

/**
 * Counts a request and returns the decision when it may pass. Throws a
 * 429 HttpError whose message starts with `reason` and ends with when to
 * try again.
 */
export async function enforceRateLimit(options: {
  limiter: RateLimiter;
  key: string;
  limit: number;
  cost: number;
  windowMs: number;
  now: Date;
  /** What was exceeded, as the start of a sentence, such as "Too many requests". */
  reason: string;
}): Promise<RateLimitDecision> {
  const decision = await options.limiter.consume({
    key: options.key,
    limit: options.limit,
    cost: options.cost,
    windowMs: options.windowMs,
    now: options.now,
  });
  if (decision.allowed) {
    return decision;
  }

  const headers = toRateLimitHeaders(decision);
  const retryAt = new Date(options.now.getTime() + decision.resetMs);
  throw new HttpError({
    status: 429,
    code: 'rate_limited',
    message: `${options.reason}. Try again in ${headers.resetSeconds} seconds, at ${retryAt.toISOString()}.`,
    details: {
      retryAfterSeconds: headers.resetSeconds,
      rateLimit: headers,
    },
  });
}

/**
 * Reads the client's IP address: the TCP peer, or behind a trusted proxy
 * the last X-Forwarded-For entry, which that proxy added. Earlier entries
 * come from the client and may be forged. Returns "unknown" for a request
 * without a socket (an in-process test request).
 */
export function readClientAddress(
  context: Context,
  trustProxy: boolean,
): string {
  if (trustProxy) {
    const forwarded = context.req.header('x-forwarded-for');
    const last = forwarded?.split(',').at(-1)?.trim();
    if (last) {
      return last;
    }
  }
  const incoming = (
    context.env as
      { incoming?: { socket?: { remoteAddress?: string } } } | undefined
  )?.incoming;
  return incoming?.socket?.remoteAddress ?? 'unknown';
}
