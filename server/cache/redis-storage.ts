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
    async set(key, answer, ttlSeconds, _nowMs, installId) {
      const transaction = redis
        .multi()
        .set(prefix + key, JSON.stringify(answer), 'EX', ttlSeconds);
      if (installId !== undefined) {
        // The install's key set expires with its newest entry, which is
        // also its last to expire while the TTL setting stays the same.
        const setKey = installKeySet(prefix, installId);
        transaction.sadd(setKey, key).expire(setKey, ttlSeconds);
      }
      for (const [error] of (await transaction.exec()) ?? []) {
        if (error) {
          throw error;
        }
      }
    },
    async deleteByInstall(installId) {
      const setKey = installKeySet(prefix, installId);
      const keys = await redis.smembers(setKey);
      if (keys.length === 0) {
        return 0;
      }
      // SREM rather than DEL of the set, so an entry that a request stores
      // meanwhile stays listed for the next deletion.
      const results = await redis
        .multi()
        .del(...keys.map((key) => prefix + key))
        .srem(setKey, ...keys)
        .exec();
      const [error, deleted] = results?.[0] ?? [null, 0];
      if (error) {
        throw error;
      }
      // DEL counts only the entries that had not expired yet.
      return Number(deleted);
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

/** Key of the set that lists the cache keys an install's requests created. */
function installKeySet(prefix: string, installId: string): string {
  return `${prefix}install:${installId}`;
}
