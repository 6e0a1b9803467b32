/**
 * Fixed-window rate limits: each key counts its cost in windows of
 * `windowMs` aligned to the Unix epoch. A request is allowed while the
 * window's count is below the limit, and then its whole cost is added. So
 * one large request may carry the count past the limit, and the next one
 * waits for the window to end.
 */

export interface RateLimitRequest {
  /** Counter name and subject, such as `chat-requests:INSTALL_ID`. */
  key: string;
  /** Cost allowed per window. */
  limit: number;
  /** Cost of this request, at least 1. */
  cost: number;
  windowMs: number;
  now: Date;
}

export interface RateLimitDecision {
  allowed: boolean;
  limit: number;
  /** Cost left in the window after this request, never below zero. */
  remaining: number;
  /** Milliseconds until the window ends and the count restarts. */
  resetMs: number;
  windowMs: number;
}

export interface RateLimiter {
  /** Counts a request against its window and decides whether it may pass. */
  consume(request: RateLimitRequest): Promise<RateLimitDecision>;
  /** Releases connections; later calls allow every request. */
  close(): Promise<void>;
}

/** Returns the index of the window that contains `now`, and its remaining time. */
export function locateWindow(
  now: Date,
  windowMs: number,
): { index: number; resetMs: number } {
  const time = now.getTime();
  const index = Math.floor(time / windowMs);
  return { index, resetMs: (index + 1) * windowMs - time };
}

/** Builds the decision for a window whose count is now `count`. */
export function decide(
  request: RateLimitRequest,
  allowed: boolean,
  count: number,
  resetMs: number,
): RateLimitDecision {
  return {
    allowed,
    limit: request.limit,
    remaining: Math.max(0, request.limit - count),
    resetMs,
    windowMs: request.windowMs,
  };
}
