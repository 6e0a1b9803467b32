/**
 * Rate limits counted in this process's memory, for a single backend
 * process (the SQLite deployment). Several processes need the Redis one.
 */
import {
  decide,
  locateWindow,
  type RateLimitDecision,
  type RateLimiter,
  type RateLimitRequest,
} from './rate-limiter';

/** Windows kept before stale ones are pruned. */
const PRUNE_THRESHOLD = 10_000;

export class MemoryRateLimiter implements RateLimiter {
  private readonly windows = new Map<
    string,
    { index: number; windowMs: number; count: number }
  >();

  async consume(request: RateLimitRequest): Promise<RateLimitDecision> {
    const { index, resetMs } = locateWindow(request.now, request.windowMs);
    const window = this.windows.get(request.key);
    const count = window && window.index === index ? window.count : 0;
    if (count >= request.limit) {
      return decide(request, false, count, resetMs);
    }

    const updated = count + request.cost;
    if (this.windows.size >= PRUNE_THRESHOLD) {
      this.prune(request.now);
    }
    this.windows.set(request.key, {
      index,
      windowMs: request.windowMs,
      count: updated,
    });
    return decide(request, true, updated, resetMs);
  }

  async close(): Promise<void> {
    this.windows.clear();
  }

  /** Deletes the windows that have ended. */
  private prune(now: Date): void {
    for (const [key, window] of this.windows) {
      if (locateWindow(now, window.windowMs).index !== window.index) {
        this.windows.delete(key);
      }
    }
  }
}
