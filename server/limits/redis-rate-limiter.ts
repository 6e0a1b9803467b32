/**
 * Rate limits counted in Redis, shared by every backend process that uses
 * the same Redis and key prefix. One Lua script reads, compares and
 * increments a window's counter, so racing processes cannot both take the
 * last unit. While Redis is unreachable every request passes, because the
 * ledger still enforces each allowance, and a warning is logged at most
 * once a minute.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../logger';
import {
  decide,
  locateWindow,
  type RateLimitDecision,
  type RateLimiter,
  type RateLimitRequest,
} from './rate-limiter';

// KEYS[1] window counter; ARGV: limit, cost, expiry in milliseconds.
// Returns {allowed (0 or 1), count after this request}.
const CONSUME_SCRIPT = `
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count >= tonumber(ARGV[1]) then
  return {0, count}
end
count = redis.call('INCRBY', KEYS[1], ARGV[2])
if count == tonumber(ARGV[2]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
return {1, count}
`;

type ConsumeCommand = (
  key: string,
  limit: number,
  cost: number,
  expiryMs: number,
) => Promise<[number, number]>;

export class RedisRateLimiter implements RateLimiter {
  private closed = false;
  private lastFailureLoggedAt = 0;

  constructor(
    private readonly redis: Redis,
    /** Prefix of every key, such as `tokenwise:ratelimit:`. */
    private readonly keyPrefix: string,
    private readonly logger: Logger,
  ) {
    redis.defineCommand('tokenwiseConsumeRate', {
      numberOfKeys: 1,
      lua: CONSUME_SCRIPT,
    });
  }

  async consume(request: RateLimitRequest): Promise<RateLimitDecision> {
    const { index, resetMs } = locateWindow(request.now, request.windowMs);
    if (this.closed) {
      // The backend is stopping; the few requests still arriving pass.
      return decide(request, true, 0, resetMs);
    }

    const command = (
      this.redis as unknown as { tokenwiseConsumeRate: ConsumeCommand }
    ).tokenwiseConsumeRate.bind(this.redis);
    // The counter outlives its window by a minute, so a clock a little
    // ahead of Redis's does not see an expired window restart.
    try {
      const [allowed, count] = await command(
        `${this.keyPrefix}${request.key}:${index}`,
        request.limit,
        request.cost,
        resetMs + 60_000,
      );
      return decide(request, allowed === 1, Number(count), resetMs);
    } catch (error) {
      if (Date.now() - this.lastFailureLoggedAt > 60_000) {
        this.lastFailureLoggedAt = Date.now();
        this.logger.warn(
          { err: error, key: request.key },
          'rate limit check failed, so the request passes unlimited',
        );
      }
      return decide(request, true, 0, resetMs);
    }
  }

  async close(): Promise<void> {
    if (this.closed) {
      return;
    }
    this.closed = true;
    try {
      await this.redis.quit();
    } catch (error) {
      this.logger.warn({ err: error }, 'closing the Redis connection failed');
      this.redis.disconnect();
    }
  }
}
