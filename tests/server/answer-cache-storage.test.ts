/**
 * The answer cache's storage and single flight without HTTP: the SQLite
 * table beside a real ledger (expiry, layout version), Redis against a
 * real redis-server on 127.0.0.1 (expiry, key prefix), and the lookups
 * that make one request the leader and the others followers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import {
  afterAll,
  afterEach,
  beforeAll,
  beforeEach,
  describe,
  expect,
  it,
} from 'vitest';
import { ServerAnswerCache } from '../../server/cache/answer-cache';
import type { FlightEnd } from '../../server/cache/answer-flight';
import {
  buildServerCacheKey,
  chooseCacheScope,
  SHARED_SCOPE,
} from '../../server/cache/cache-key';
import { openRedisAnswerCache } from '../../server/cache/redis-storage';
import {
  openSqliteAnswerCache,
  SQLITE_CACHE_VERSION,
} from '../../server/cache/sqlite-storage';
import type {
  AnswerCacheStorage,
  CachedAnswer,
} from '../../server/cache/types';
import { openStore } from '../../server/store/index';
import { createPlans } from '../../server/plans';
import {
  createCapturingLogger,
  createTempDirectory,
  createTestConfig,
} from './helpers';

const ANSWER: CachedAnswer = {
  text: 'Paris.',
  finishReason: 'stop',
  tier: 'cheap',
  model: 'openai:gpt-5-mini',
  usage: { inputTokens: 100, cachedInputTokens: 0, outputTokens: 20 },
  createdAt: 1_000_000,
};

let temp: ReturnType<typeof createTempDirectory>;

beforeEach(() => {
  temp = createTempDirectory();
});
afterEach(() => temp.remove());

describe('SQLite answer cache storage', () => {
  it('shares the ledger database file', async () => {
    const config = createTestConfig(temp.directory);
    const store = await openStore({
      database: config.database,
      plans: createPlans(config),
    });
    const file = path.join(temp.directory, 'tokenwise.db');
    const storage = openSqliteAnswerCache(file);

    await storage.set('key-1', ANSWER, 60, ANSWER.createdAt);

    expect(await storage.get('key-1', ANSWER.createdAt)).toEqual(ANSWER);
    const install = await store.createInstall({
      id: 'install-1',
      plan: 'free',
      now: new Date(),
    });
    expect(install.id).toBe('install-1');
    await storage.close();
    await store.close();
  });

  it('expires entries after their TTL', async () => {
    const storage = openSqliteAnswerCache(
      path.join(temp.directory, 'cache.db'),
    );

    await storage.set('key-1', ANSWER, 10, 0);

    expect(await storage.get('key-1', 9_999)).toEqual(ANSWER);
    expect(await storage.get('key-1', 10_000)).toBeUndefined();
    expect(await storage.get('missing', 0)).toBeUndefined();
    await storage.close();
  });

  it('survives a reopen', async () => {
    const file = path.join(temp.directory, 'cache.db');
    const first = openSqliteAnswerCache(file);
    await first.set('key-1', ANSWER, 60, 0);
    await first.close();

    const second = openSqliteAnswerCache(file);

    expect(await second.get('key-1', 1)).toEqual(ANSWER);
    await second.close();
  });

  it('drops a table of another layout version', async () => {
    const file = path.join(temp.directory, 'cache.db');
    const first = openSqliteAnswerCache(file);
    await first.set('key-1', ANSWER, 60, 0);
    await first.close();
    const database = new Database(file);
    database
      .prepare(
        "UPDATE answer_cache_meta SET value = '0' WHERE name = 'version'",
      )
      .run();
    database.close();

    const second = openSqliteAnswerCache(file);

    expect(await second.get('key-1', 1)).toBeUndefined();
    const check = new Database(file);
    const version = check
      .prepare<[], { value: string }>(
        "SELECT value FROM answer_cache_meta WHERE name = 'version'",
      )
      .get();
    check.close();
    expect(version?.value).toBe(SQLITE_CACHE_VERSION);
    await second.close();
  });
});

describe('Redis answer cache storage', () => {
  let redisServer: ChildProcess | undefined;
  let url = '';

  beforeAll(async () => {
    const port = await findFreePort();
    url = `redis://127.0.0.1:${port}`;
    redisServer = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
      ],
      { stdio: 'ignore' },
    );
    const client = new Redis(url, {
      lazyConnect: true,
      retryStrategy: () => 50,
    });
    client.on('error', () => undefined);
    for (let attempt = 0; attempt < 100; attempt++) {
      try {
        await client.connect();
        await client.ping();
        break;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    client.disconnect();
  });

  afterAll(() => {
    redisServer?.kill();
  });

  it('stores entries with Redis expiry under the prefix', async () => {
    const storage = openRedisAnswerCache({ url, keyPrefix: 'test-a:' });
    const client = new Redis(url);

    await storage.set('key-1', ANSWER, 30, 0);

    expect(await storage.get('key-1', 0)).toEqual(ANSWER);
    const ttl = await client.ttl('test-a:answer-cache:v1:key-1');
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(30);
    const other = openRedisAnswerCache({ url, keyPrefix: 'test-b:' });
    expect(await other.get('key-1', 0)).toBeUndefined();
    await other.close();
    await storage.close();
    client.disconnect();
  });

  it('drops an entry when Redis expires it', async () => {
    const storage = openRedisAnswerCache({ url, keyPrefix: 'test-c:' });
    const client = new Redis(url);

    await storage.set('key-1', ANSWER, 30, 0);
    await client.pexpire('test-c:answer-cache:v1:key-1', 1);
    await new Promise((resolve) => setTimeout(resolve, 20));

    expect(await storage.get('key-1', 0)).toBeUndefined();
    await storage.close();
    client.disconnect();
  });
});

describe('cache keys', () => {
  const base = {
    scope: 'install:a',
    question: 'What is the capital of France?',
    history: [],
    tier: 'cheap',
    model: 'openai:gpt-5-mini',
  } as const;

  it('folds case, spacing and final punctuation', () => {
    expect(
      buildServerCacheKey({
        ...base,
        question: '  what is the capital   of france ',
      }),
    ).toBe(buildServerCacheKey(base));
  });

  it.each([
    ['scope', { scope: 'install:b' }],
    ['history', { history: [{ role: 'user', content: 'Hi' }] }],
    ['page', { pageContext: { title: 't', url: 'u', text: 'x' } }],
    ['tier', { tier: 'premium' }],
    ['model', { model: 'openai:gpt-5' }],
    ['number', { question: 'What is the capital of France 2?' }],
  ] as const)('changes with the %s', (_field, change) => {
    expect(buildServerCacheKey({ ...base, ...change })).not.toBe(
      buildServerCacheKey(base),
    );
  });

  it('chooses the shared scope only without context', () => {
    const request = { installId: 'a', history: [], sharedCache: true };
    expect(chooseCacheScope(request)).toBe(SHARED_SCOPE);
    expect(chooseCacheScope({ ...request, sharedCache: false })).toBe(
      'install:a',
    );
    expect(
      chooseCacheScope({
        ...request,
        history: [{ role: 'user', content: 'Hi' }],
      }),
    ).toBe('install:a');
    expect(
      chooseCacheScope({
        ...request,
        pageContext: { title: 't', url: 'u', text: 'x' },
      }),
    ).toBe('install:a');
  });
});

describe('single flight lookups', () => {
  function createCache(storage: AnswerCacheStorage): ServerAnswerCache {
    return new ServerAnswerCache({
      storage,
      ttlSeconds: 60,
      sharedCache: false,
      logger: createCapturingLogger().logger,
      storageKind: 'sqlite',
    });
  }

  it('makes concurrent lookups follow the first', async () => {
    const cache = createCache(
      openSqliteAnswerCache(path.join(temp.directory, 'cache.db')),
    );

    const [first, second] = await Promise.all([
      cache.lookup('key-1', 0),
      cache.lookup('key-1', 0),
    ]);

    expect(first.kind).toBe('leader');
    expect(second.kind).toBe('follower');
    if (first.kind !== 'leader' || second.kind !== 'follower') {
      throw new Error('Expected one leader and one follower.');
    }
    expect(second.flight).toBe(first.flight);
    const deltas: string[] = [];
    const ends: FlightEnd[] = [];
    first.flight.addDelta('Par');
    second.flight.follow({
      onDelta: (text) => deltas.push(text),
      onEnd: (end) => ends.push(end),
    });
    first.flight.addDelta('is.');
    first.flight.finish({
      kind: 'finished',
      finishReason: 'stop',
      model: ANSWER.model,
      usage: ANSWER.usage,
    });
    expect(deltas).toEqual(['Par', 'is.']);
    expect(ends).toHaveLength(1);
    expect(ends[0]?.kind).toBe('finished');
    expect(cache.flightCount).toBe(0);
    await cache.close();
  });

  it('replays a stored answer as a finished flight', async () => {
    const cache = createCache(
      openSqliteAnswerCache(path.join(temp.directory, 'cache.db')),
    );
    await cache.store('key-1', { ...ANSWER, createdAt: 0 });

    const lookup = await cache.lookup('key-1', 1);

    expect(lookup.kind).toBe('hit');
    const deltas: string[] = [];
    lookup.flight.follow({
      onDelta: (text) => deltas.push(text),
      onEnd: () => undefined,
    });
    expect(deltas).toEqual(['Paris.']);
    expect(lookup.flight.ended).toBe(true);
    expect(cache.flightCount).toBe(0);
    await cache.close();
  });

  it('reads a failing storage as a miss', async () => {
    const failing: AnswerCacheStorage = {
      get: () => Promise.reject(new Error('disk gone')),
      set: () => Promise.reject(new Error('disk gone')),
      deleteByInstall: () => Promise.reject(new Error('disk gone')),
      close: () => Promise.resolve(),
    };
    const logs = createCapturingLogger();
    const cache = new ServerAnswerCache({
      storage: failing,
      ttlSeconds: 60,
      sharedCache: false,
      logger: logs.logger,
      storageKind: 'sqlite',
    });

    const lookup = await cache.lookup('key-1', 0);
    await cache.store('key-1', ANSWER);

    expect(lookup.kind).toBe('leader');
    const messages = logs.lines.map((line) => line.msg);
    expect(messages).toContain(
      'answer cache read failed; answering without the cache',
    );
    expect(messages).toContain(
      'answer cache write failed; the answer is not cached',
    );
  });
});

function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
