/**
 * Answer cache storage in Redis, so several backend instances share one
 * cache. Each entry is a string key with Redis's own expiry.
 */
import { Redis } from 'ioredis';
import type { AnswerCacheStorage, CachedAnswer } from './types';

/** Part of every key after the deployment's prefix, versioned with the entry layout. */
export const REDIS_CACHE_NAMESPACE = 'answer-cache:v1:';

export interface RedisAnswerCacheOptions {
  url: string;
  /** The deployment's prefix (TOKENWISE_REDIS_KEY_PREFIX), e.g. "tokenwise:". */
  keyPrefix: string;
}

/**
 * Connects to Redis. Commands fail after a few reconnect attempts rather
 * than queueing forever, so a Redis that is down turns into cache misses.
 */
export function openRedisAnswerCache(
  options: RedisAnswerCacheOptions,
): AnswerCacheStorage {
  const prefix = `${options.keyPrefix}${REDIS_CACHE_NAMESPACE}`;
  const redis = new Redis(options.url, {
    maxRetriesPerRequest: 2,
    lazyConnect: false,
  });
  // Connection errors surface as rejected commands, so this listener only
  // keeps ioredis from reporting them as unhandled.
  redis.on('error', () => undefined);

  return {
    async get(key) {
      const value = await redis.get(prefix + key);
      return value === null ? undefined : (JSON.parse(value) as CachedAnswer);
    },
    async set(key, answer, ttlSeconds) {
      await redis.set(prefix + key, JSON.stringify(answer), 'EX', ttlSeconds);
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
