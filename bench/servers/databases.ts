/**
 * The PostgreSQL schema and Redis key prefix of one benchmark run, on the
 * local servers (127.0.0.1, trust auth), removed again afterwards.
 * TOKENWISE_BENCH_POSTGRES_URL and TOKENWISE_BENCH_REDIS_URL override them.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';

export const BENCH_POSTGRES_URL =
  process.env.TOKENWISE_BENCH_POSTGRES_URL ??
  'postgres://postgres@127.0.0.1:5432/test';
export const BENCH_REDIS_URL =
  process.env.TOKENWISE_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A schema and a key prefix that only this run uses. */
export interface ScaleOutStorage {
  /** TOKENWISE_DATABASE_URL that keeps the tables in the run's schema. */
  databaseUrl: string;
  redisUrl: string;
  redisKeyPrefix: string;
  /** Server versions, such as `PostgreSQL 15.8, Redis 7.0.15`. */
  versions: string;
  /** Drops the schema and deletes every key under the prefix. */
  remove(): Promise<void>;
}

/**
 * Names a new schema and key prefix after checking that both servers
 * answer. Returns the reason instead when one of them does not.
 */
export async function prepareScaleOutStorage(): Promise<
  ScaleOutStorage | { unavailable: string }
> {
  const suffix = randomBytes(6).toString('hex');
  const schema = `tokenwise_bench_${suffix}`;
  const redisKeyPrefix = `tokenwise-bench:${suffix}:`;
  let postgresVersion: string;
  let redisVersion: string;

  try {
    const client = new pg.Client({
      connectionString: BENCH_POSTGRES_URL,
      connectionTimeoutMillis: 3_000,
    });
    await client.connect();
    const result = await client.query<{ server_version: string }>(
      'SHOW server_version',
    );
    postgresVersion = result.rows[0]?.server_version ?? 'unknown';
    await client.end();
  } catch (error) {
    return {
      unavailable: `PostgreSQL at ${BENCH_POSTGRES_URL} did not answer: ${String(error)}`,
    };
  }
  const redis = new Redis(BENCH_REDIS_URL, {
    maxRetriesPerRequest: 1,
    connectTimeout: 3_000,
    lazyConnect: true,
  });
  try {
    await redis.connect();
    const info = await redis.info('server');
    redisVersion = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
  } catch (error) {
    return {
      unavailable: `Redis at ${BENCH_REDIS_URL} did not answer: ${String(error)}`,
    };
  } finally {
    redis.disconnect();
  }

  const databaseUrl = new URL(BENCH_POSTGRES_URL);
  databaseUrl.searchParams.set('schema', schema);
  return {
    databaseUrl: databaseUrl.toString(),
    redisUrl: BENCH_REDIS_URL,
    redisKeyPrefix,
    versions: `PostgreSQL ${postgresVersion}, Redis ${redisVersion}`,
    remove: () => removeStorage(schema, redisKeyPrefix),
  };
}

async function removeStorage(schema: string, prefix: string): Promise<void> {
  const client = new pg.Client({ connectionString: BENCH_POSTGRES_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }

  const redis = new Redis(BENCH_REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    // Bounded: SCAN visits every key once, and the loop stops when it wraps.
    do {
      const [next, keys] = await redis.scan(
        cursor,
        'MATCH',
        `${prefix}*`,
        'COUNT',
        1_000,
      );
      cursor = next;
      if (keys.length > 0) {
        await redis.del(...keys);
      }
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
