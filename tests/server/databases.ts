/**
 * The PostgreSQL and Redis servers the scale-out tests use (127.0.0.1,
 * trust auth), each test with its own schema or key prefix that it removes
 * afterwards, so no other schema or key is touched.
 * TOKENWISE_TEST_POSTGRES_URL and TOKENWISE_TEST_REDIS_URL override them.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';

export const TEST_POSTGRES_URL =
  process.env.TOKENWISE_TEST_POSTGRES_URL ??
  'postgres://postgres@127.0.0.1:5432/test';
export const TEST_REDIS_URL =
  process.env.TOKENWISE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface TestSchema {
  name: string;
  /** TOKENWISE_DATABASE_URL that keeps the tables in this schema. */
  url: string;
  /** Drops the schema and everything in it. */
  drop: () => Promise<void>;
}

/** Names a new schema; the store creates it on open. */
export function createTestSchema(): TestSchema {
  const name = `tokenwise_test_${randomBytes(6).toString('hex')}`;
  const url = new URL(TEST_POSTGRES_URL);
  url.searchParams.set('schema', name);
  return {
    name,
    url: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: TEST_POSTGRES_URL });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS ${name} CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}

export interface TestRedisPrefix {
  prefix: string;
  /** Deletes every key under the prefix. */
  clear: () => Promise<void>;
}

/** Picks a new key prefix for one test. */
export function createTestRedisPrefix(): TestRedisPrefix {
  const prefix = `tokenwise-test:${randomBytes(6).toString('hex')}:`;
  return {
    prefix,
    clear: async () => {
      const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
      try {
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(
            cursor,
            'MATCH',
            `${prefix}*`,
            'COUNT',
            500,
          );
          cursor = next;
          if (keys.length > 0) {
            await redis.del(...keys);
          }
        } while (cursor !== '0');
      } finally {
        redis.disconnect();
      }
    },
  };
}
