/**
 * Chooses the rate limiter: Redis when TOKENWISE_REDIS_URL is set, so
 * several backend processes share their counts, otherwise memory.
 */
import { Redis } from 'ioredis';
import type { Config } from '../config';
import type { Logger } from '../logger';
import { MemoryRateLimiter } from './memory-rate-limiter';
import type { RateLimiter } from './rate-limiter';
import { RedisRateLimiter } from './redis-rate-limiter';

export type {
  RateLimitDecision,
  RateLimiter,
  RateLimitRequest,
} from './rate-limiter';
export { MemoryRateLimiter } from './memory-rate-limiter';
export { RedisRateLimiter } from './redis-rate-limiter';

/** Creates the configured rate limiter; Redis connects in the background. */
export function createRateLimiter(
  config: Pick<Config, 'redisUrl' | 'redisKeyPrefix'>,
  logger: Logger,
): RateLimiter {
  if (config.redisUrl === undefined) {
    return new MemoryRateLimiter();
  }
  const redis = new Redis(config.redisUrl, {
    // A request fails after this many reconnection attempts instead of
    // waiting for Redis forever.
    maxRetriesPerRequest: 2,
    connectTimeout: 5_000,
  });
  let lastErrorLoggedAt = 0;
  redis.on('error', (error: Error) => {
    // ioredis reports every failed reconnection; one line a minute is enough.
    if (Date.now() - lastErrorLoggedAt > 60_000) {
      lastErrorLoggedAt = Date.now();
      logger.error({ err: error }, 'the rate limiter cannot reach Redis');
    }
  });
  return new RedisRateLimiter(
    redis,
    `${config.redisKeyPrefix}ratelimit:`,
    logger,
  );
}
