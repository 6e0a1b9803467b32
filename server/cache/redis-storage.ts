/**
 * Answer cache storage in Redis, so several backend instances share one
 * cache. Each entry is a string key with Redis's own expiry.
 */
import { Redis } from 'ioredis';
import type { AnswerCacheStorage, CachedAnswer } from './types';

/** Prefix of every key; the version changes when the entry layout does. */
export const REDIS_KEY_PREFIX = 'tokenwise:answer-cache:v1:';

/**
 * Connects to Redis at `url`. Commands fail after a few reconnect attempts
 * rather than queueing forever, so a down Redis turns into cache misses.
 */
export function openRedisAnswerCache(url: string): AnswerCacheStorage {
  const redis = new Redis(url, {
    maxRetriesPerRequest: 2,
    lazyConnect: false,
  });
  // Connection errors surface as rejected commands; this only keeps
  // ioredis from reporting them as unhandled.
  redis.on('error', () => undefined);

  return {
    async get(key) {
      const value = await redis.get(REDIS_KEY_PREFIX + key);
      return value === null ? undefined : (JSON.parse(value) as CachedAnswer);
    },
    async set(key, answer, ttlSeconds) {
      await redis.set(
        REDIS_KEY_PREFIX + key,
        JSON.stringify(answer),
        'EX',
        ttlSeconds,
      );
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
