/**
 * Opens the server answer cache the configuration asks for: Redis when
 * TOKENWISE_REDIS_URL is set, otherwise a table in the SQLite ledger file
 * (or a file of its own, answer-cache.db in the data folder, when the
 * ledger is not a SQLite file). Returns undefined when the TTL is 0.
 */
import path from 'node:path';
import type { Config } from '../config';
import type { Logger } from '../logger';
import { ServerAnswerCache } from './answer-cache';
import { openRedisAnswerCache } from './redis-storage';
import { openSqliteAnswerCache } from './sqlite-storage';

export { ServerAnswerCache } from './answer-cache';

/** Opens the answer cache, or returns undefined when it is turned off. */
export function openAnswerCache(
  config: Pick<
    Config,
    | 'cacheTtlSeconds'
    | 'sharedCache'
    | 'redisUrl'
    | 'redisKeyPrefix'
    | 'database'
    | 'dataDirectory'
  >,
  logger: Logger,
): ServerAnswerCache | undefined {
  if (config.cacheTtlSeconds === 0) {
    return undefined;
  }
  if (config.redisUrl !== undefined) {
    return new ServerAnswerCache({
      storage: openRedisAnswerCache({
        url: config.redisUrl,
        keyPrefix: config.redisKeyPrefix,
      }),
      ttlSeconds: config.cacheTtlSeconds,
      sharedCache: config.sharedCache,
      logger,
      storageKind: 'redis',
    });
  }
  const file =
    config.database.kind === 'sqlite'
      ? config.database.path
      : path.join(config.dataDirectory, 'answer-cache.db');
  return new ServerAnswerCache({
    storage: openSqliteAnswerCache(file),
    ttlSeconds: config.cacheTtlSeconds,
    sharedCache: config.sharedCache,
    logger,
    storageKind: 'sqlite',
  });
}
