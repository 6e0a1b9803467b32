/**
 * `DELETE /v1/installs/me` end to end, on SQLite and on PostgreSQL with
 * Redis: the install's cached answers (its own and the shared ones its
 * questions created) are gone, another install's stay, its ledger is kept
 * without any question text, and its token is rejected everywhere else.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  deleteInstallResponseSchema,
  type ChatEvent,
  type ChatRequest,
} from '../../lib/protocol';
import { ServerAnswerCache } from '../../server/cache/answer-cache';
import { openSqliteAnswerCache } from '../../server/cache/sqlite-storage';
import type { AnswerCacheStorage } from '../../server/cache/types';
import { createApp } from '../../server/app';
import { createPlans } from '../../server/plans';
import { createTierProviders } from '../../server/providers/index';
import { openSqliteStore } from '../../server/store/sqlite';
import { startFakeProvider, type FakeProvider } from '../fake-provider/index';
import {
  createTestRedisPrefix,
  createTestSchema,
  TEST_POSTGRES_URL,
  TEST_REDIS_URL,
  type TestRedisPrefix,
  type TestSchema,
} from './databases';
import {
  createCapturingLogger,
  createTempDirectory,
  createTestConfig,
  findEvent,
  postChat,
  readChatEvents,
  readErrorBody,
  registerInstall,
  startTestBackend,
  TEST_INSTALL_SECRET,
  type TestBackend,
} from './helpers';

// Words of the questions that must appear in no ledger column.
const PRIVATE_QUESTION = 'Where did Ada Lovelace publish her notes?';
const SHARED_QUESTION = 'What is the boiling point of ethanol?';
const FOLLOW_UP = 'And who translated them into English?';
const OTHER_QUESTION = 'Name the largest moon of Saturn.';
const ALERT_TABLE_DDL = `CREATE TABLE IF NOT EXISTS tokenwise_alerts_sent (
  alert_key TEXT PRIMARY KEY,
  sent_at BIGINT NOT NULL,
  text TEXT NOT NULL
)`;

let temp: ReturnType<typeof createTempDirectory>;
let fake: FakeProvider;
let backend: TestBackend | undefined;

beforeEach(async () => {
  temp = createTempDirectory();
  fake = await startFakeProvider();
});

afterEach(async () => {
  await backend?.stop({ drainTimeoutMs: 1_000 });
  backend = undefined;
  await fake.close();
  temp.remove();
});

async function startWithFake(
  env: Record<string, string> = {},
): Promise<TestBackend> {
  backend = await startTestBackend(temp.directory, {
    OPENAI_API_KEY: 'test-openai-key',
    OPENAI_BASE_URL: fake.openaiBaseUrl,
    TOKENWISE_CHEAP_MODEL: 'openai:gpt-5-mini',
    TOKENWISE_PREMIUM_MODEL: 'openai:gpt-5.5',
    TOKENWISE_RETRY_BASE_DELAY_MS: '10',
    TOKENWISE_SHARED_CACHE: 'true',
    ...env,
  });
  return backend;
}

async function ask(
  server: TestBackend,
  token: string,
  request: ChatRequest,
): Promise<ChatEvent[]> {
  const events = await readChatEvents(
    await postChat(server.url, token, { tier: 'cheap', ...request }),
  );
  findEvent(events, 'done');
  return events;
}

function deleteInstall(baseUrl: string, token?: string): Promise<Response> {
  return fetch(`${baseUrl}/v1/installs/me`, {
    method: 'DELETE',
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  });
}

/** Sends the requests whose answers the deletion must remove or keep. */
async function fillCache(
  server: TestBackend,
  deleted: string,
  kept: string,
): Promise<void> {
  await ask(server, deleted, { question: SHARED_QUESTION });
  await ask(server, deleted, {
    question: FOLLOW_UP,
    history: [
      { role: 'user', content: PRIVATE_QUESTION },
      { role: 'assistant', content: 'In Taylor’s Scientific Memoirs.' },
    ],
  });
  await ask(server, kept, { question: OTHER_QUESTION });
}

/**
 * Checks what must hold after a deletion, whatever the storage. The token
 * is rejected and a renewal gets a new install. The shared answer is gone
 * for everyone while the other install's answer stays, and the ledger is
 * kept with no question text.
 */
async function expectDeleted(
  server: TestBackend,
  deleted: { installId: string; token: string },
  kept: { installId: string; token: string },
): Promise<void> {
  const usage = await fetch(`${server.url}/v1/usage`, {
    headers: { authorization: `Bearer ${deleted.token}` },
  });
  expect(usage.status).toBe(401);
  expect((await readErrorBody(usage)).error.code).toBe('unauthorized');
  const chat = await postChat(server.url, deleted.token, {
    question: OTHER_QUESTION,
  });
  expect(chat.status).toBe(401);
  await chat.body?.cancel();

  const renewal = await fetch(`${server.url}/v1/installs`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${deleted.token}`,
    },
    body: '{}',
  });
  expect(renewal.status).toBe(201);
  const renewed = (await renewal.json()) as { installId: string };
  expect(renewed.installId).not.toBe(deleted.installId);

  const callsBefore = fake.requests.length;
  const keptHit = await ask(server, kept.token, { question: OTHER_QUESTION });
  expect(findEvent(keptHit, 'route').fromCache).toBe(true);
  const sharedAgain = await ask(server, kept.token, {
    question: SHARED_QUESTION,
  });
  expect(findEvent(sharedAgain, 'route').fromCache).toBe(false);
  expect(fake.requests.length).toBe(callsBefore + 1);

  const install = await server.store.getInstall(deleted.installId);
  expect(install?.revoked).toBe(true);
  expect(install?.deletedAt).toBeInstanceOf(Date);
  const ledger = await server.store.listLedgerEntries(deleted.installId);
  expect(ledger.filter((entry) => entry.kind === 'settle')).toHaveLength(2);
  const ledgerText = JSON.stringify(ledger);
  for (const question of [PRIVATE_QUESTION, SHARED_QUESTION, FOLLOW_UP]) {
    expect(ledgerText).not.toContain(question.slice(0, 20));
  }
}

describe('DELETE /v1/installs/me on SQLite', () => {
  it('deletes cache entries and keeps the ledger', async () => {
    const server = await startWithFake();
    const deleted = await registerInstall(server.url);
    const kept = await registerInstall(server.url);
    await fillCache(server, deleted.token, kept.token);
    const database = new Database(path.join(temp.directory, 'tokenwise.db'));
    const countEntries = (installId: string) =>
      (
        database
          .prepare(
            'SELECT COUNT(*) AS count FROM answer_cache WHERE install_id = ?',
          )
          .get(installId) as { count: number }
      ).count;
    expect(countEntries(deleted.installId)).toBe(2);

    const response = await deleteInstall(server.url, deleted.token);

    expect(response.status).toBe(200);
    const body = deleteInstallResponseSchema.parse(await response.json());
    expect(body.installId).toBe(deleted.installId);
    expect(body.cacheEntriesDeleted).toBe(2);
    expect(body.ledgerEntriesKept).toBeGreaterThanOrEqual(5);
    expect(countEntries(deleted.installId)).toBe(0);
    expect(countEntries(kept.installId)).toBe(1);
    await expectDeleted(server, deleted, kept);
    const rawLedger = JSON.stringify(
      database
        .prepare('SELECT * FROM ledger_entries WHERE install_id = ?')
        .all(deleted.installId),
    );
    expect(rawLedger).not.toContain('Lovelace');
    expect(rawLedger).not.toContain('ethanol');
    database.close();
  });

  it('repeats without changing the first deletion', async () => {
    const server = await startWithFake();
    const install = await registerInstall(server.url);
    await ask(server, install.token, { question: SHARED_QUESTION });

    const first = deleteInstallResponseSchema.parse(
      await (await deleteInstall(server.url, install.token)).json(),
    );
    const secondResponse = await deleteInstall(server.url, install.token);

    expect(secondResponse.status).toBe(200);
    const second = deleteInstallResponseSchema.parse(
      await secondResponse.json(),
    );
    expect(first.cacheEntriesDeleted).toBe(1);
    expect(second.cacheEntriesDeleted).toBe(0);
    expect(second.deletedAt).toBe(first.deletedAt);
    expect(server.logs.text()).toContain('install data deleted');
    expect(server.logs.text()).not.toContain('ethanol');
  });

  it('removes spike alert records of the install only', async () => {
    const server = await startWithFake();
    const deleted = await registerInstall(server.url);
    const kept = await registerInstall(server.url);
    const database = new Database(path.join(temp.directory, 'tokenwise.db'));
    database.exec(ALERT_TABLE_DDL);
    const insert = database.prepare(
      'INSERT INTO tokenwise_alerts_sent (alert_key, sent_at, text) VALUES (?, 0, ?)',
    );
    insert.run(`spike:${deleted.installId}:2026-12-04T10`, 'a');
    insert.run(`spike:${kept.installId}:2026-12-04T10`, 'b');
    insert.run('budget:daily:50:2026-12-04', 'c');

    const response = await deleteInstall(server.url, deleted.token);

    expect(response.status).toBe(200);
    const keys = (
      database
        .prepare('SELECT alert_key FROM tokenwise_alerts_sent ORDER BY 1')
        .all() as Array<{ alert_key: string }>
    ).map((row) => row.alert_key);
    expect(keys).toEqual([
      'budget:daily:50:2026-12-04',
      `spike:${kept.installId}:2026-12-04T10`,
    ]);
    database.close();
  });

  it.each([
    ['no token', undefined, /has no install token/],
    ['malformed token', 'not-a-token', /malformed/],
    ['forged token', 'tw1.eyJzdWIiOiJ4In0.AAAA', /invalid signature/],
  ])('rejects %s and deletes nothing', async (_case, token, message) => {
    const server = await startWithFake();
    const install = await registerInstall(server.url);
    await ask(server, install.token, { question: SHARED_QUESTION });

    const response = await deleteInstall(server.url, token);

    expect(response.status).toBe(401);
    const body = await readErrorBody(response);
    expect(body.error.code).toBe('unauthorized');
    expect(body.error.message).toMatch(message);
    expect(body.error.message).toContain('Nothing was deleted.');
    const stored = await server.store.getInstall(install.installId);
    expect(stored?.revoked).toBe(false);
    const again = await ask(server, install.token, {
      question: SHARED_QUESTION,
    });
    expect(findEvent(again, 'route').fromCache).toBe(true);
  });

  it('keeps an install with a live subscription', async () => {
    const server = await startWithFake();
    const install = await registerInstall(server.url);
    const database = new Database(path.join(temp.directory, 'tokenwise.db'));
    database
      .prepare(
        `INSERT INTO billing_subscriptions (subscription_id, install_id,
           customer_id, plan, price_id, status, current_period_end,
           created_at, updated_at)
         VALUES ('sub_test_1', ?, 'cus_test_1', 'pro', 'price_test_1',
           'active', NULL, 0, 0)`,
      )
      .run(install.installId);

    const rejected = await deleteInstall(server.url, install.token);

    expect(rejected.status).toBe(409);
    const body = await readErrorBody(rejected);
    expect(body.error.code).toBe('invalid_request');
    expect(body.error.message).toContain('sub_test_1');
    expect(body.error.message).toMatch(/Cancel the subscription first/);
    const kept = await server.store.getInstall(install.installId);
    expect(kept?.revoked).toBe(false);
    expect(kept?.deletedAt).toBeUndefined();

    database
      .prepare(
        "UPDATE billing_subscriptions SET status = 'canceled' WHERE subscription_id = 'sub_test_1'",
      )
      .run();
    database.close();
    const accepted = await deleteInstall(server.url, install.token);

    expect(accepted.status).toBe(200);
    expect(
      (await server.store.getInstall(install.installId))?.deletedAt,
    ).toBeInstanceOf(Date);
  });

  it('rejects an operator-revoked install', async () => {
    const server = await startWithFake();
    const install = await registerInstall(server.url);
    const database = new Database(path.join(temp.directory, 'tokenwise.db'));
    database
      .prepare('UPDATE installs SET revoked = 1 WHERE id = ?')
      .run(install.installId);
    database.close();

    const response = await deleteInstall(server.url, install.token);

    expect(response.status).toBe(401);
    expect((await readErrorBody(response)).error.message).toMatch(
      /revoked by the backend operator/,
    );
    const stored = await server.store.getInstall(install.installId);
    expect(stored?.deletedAt).toBeUndefined();
  });
});

describe('ServerAnswerCache.deleteInstallEntries', () => {
  it('skips answers that finish after it', async () => {
    const storage = openSqliteAnswerCache(
      path.join(temp.directory, 'cache.db'),
    );
    const cache = new ServerAnswerCache({
      storage,
      ttlSeconds: 60,
      sharedCache: true,
      logger: createCapturingLogger().logger,
      storageKind: 'sqlite',
    });
    const answer = {
      text: 'Canberra.',
      finishReason: 'stop',
      tier: 'cheap' as const,
      model: 'openai:gpt-5-mini',
      usage: { inputTokens: 10, cachedInputTokens: 0, outputTokens: 2 },
      createdAt: 1_000,
    };
    const deleted = await cache.lookup('key-deleted', 1_000, 'install-a');
    const other = await cache.lookup('key-other', 1_000, 'install-b');
    expect(deleted.kind).toBe('leader');
    expect(other.kind).toBe('leader');

    expect(await cache.deleteInstallEntries('install-a')).toBe(0);
    await cache.store('key-deleted', answer);
    await cache.store('key-other', answer);
    deleted.flight.finish({ kind: 'failed' });
    other.flight.finish({ kind: 'failed' });

    expect(await storage.get('key-deleted', 1_001)).toBeUndefined();
    expect(await storage.get('key-other', 1_001)).toEqual(answer);
    expect(await storage.deleteByInstall('install-b')).toBe(1);
    await cache.close();
  });
});

describe('DELETE /v1/installs/me with a failing cache', () => {
  it('returns 503 and keeps the install usable', async () => {
    const config = createTestConfig(temp.directory);
    const store = openSqliteStore({
      path: path.join(temp.directory, 'tokenwise.db'),
      plans: createPlans(config),
    });
    const failing: AnswerCacheStorage = {
      get: () => Promise.resolve(undefined),
      set: () => Promise.resolve(),
      deleteByInstall: () => Promise.reject(new Error('cache unreachable')),
      close: () => Promise.resolve(),
    };
    const logs = createCapturingLogger();
    const answerCache = new ServerAnswerCache({
      storage: failing,
      ttlSeconds: 60,
      sharedCache: false,
      logger: logs.logger,
      storageKind: 'redis',
    });
    const { app, beginStop } = createApp({
      config,
      store,
      providers: createTierProviders(config),
      logger: logs.logger,
      installSecret: TEST_INSTALL_SECRET,
      answerCache,
    });
    try {
      const registered = await app.request('/v1/installs', { method: 'POST' });
      const { installId, token } = (await registered.json()) as {
        installId: string;
        token: string;
      };

      const response = await app.request('/v1/installs/me', {
        method: 'DELETE',
        headers: { authorization: `Bearer ${token}` },
      });

      expect(response.status).toBe(503);
      expect((await readErrorBody(response)).error.message).toMatch(
        /not deleted yet\. Try again/,
      );
      const install = await store.getInstall(installId);
      expect(install?.revoked).toBe(false);
      expect(install?.deletedAt).toBeUndefined();
      const usage = await app.request('/v1/usage', {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(usage.status).toBe(200);
      expect(logs.text()).toContain('deleting cached answers failed');
    } finally {
      beginStop();
      await store.close();
    }
  });
});

describe('DELETE /v1/installs/me on PostgreSQL and Redis', () => {
  let schema: TestSchema;
  let redisPrefix: TestRedisPrefix;

  beforeEach(() => {
    schema = createTestSchema();
    redisPrefix = createTestRedisPrefix();
  });

  afterEach(async () => {
    await backend?.stop({ drainTimeoutMs: 1_000 });
    backend = undefined;
    await schema.drop();
    await redisPrefix.clear();
  });

  it('deletes Redis entries and keeps the ledger', async () => {
    const server = await startWithFake({
      TOKENWISE_DATABASE_URL: schema.url,
      TOKENWISE_REDIS_URL: TEST_REDIS_URL,
      TOKENWISE_REDIS_KEY_PREFIX: redisPrefix.prefix,
    });
    const deleted = await registerInstall(server.url);
    const kept = await registerInstall(server.url);
    await fillCache(server, deleted.token, kept.token);
    const redis = new Redis(TEST_REDIS_URL);
    const client = new pg.Client({ connectionString: TEST_POSTGRES_URL });
    await client.connect();
    try {
      const listEntryKeys = async () =>
        (await redis.keys(`${redisPrefix.prefix}answer-cache:*`)).filter(
          (key) => !key.includes(':install:'),
        );
      expect(await listEntryKeys()).toHaveLength(3);

      const response = await deleteInstall(server.url, deleted.token);

      expect(response.status).toBe(200);
      const body = deleteInstallResponseSchema.parse(await response.json());
      expect(body.cacheEntriesDeleted).toBe(2);
      expect(await listEntryKeys()).toHaveLength(1);
      await expectDeleted(server, deleted, kept);
      const installRow = await client.query<{
        revoked: number;
        deleted_at: string | null;
      }>(
        `SELECT revoked, deleted_at FROM ${schema.name}.installs WHERE id = $1`,
        [deleted.installId],
      );
      expect(Number(installRow.rows[0]?.revoked)).toBe(1);
      expect(installRow.rows[0]?.deleted_at).not.toBeNull();
      const ledgerRows = await client.query(
        `SELECT * FROM ${schema.name}.ledger_entries WHERE install_id = $1`,
        [deleted.installId],
      );
      expect(ledgerRows.rows.length).toBeGreaterThanOrEqual(5);
      const rawLedger = JSON.stringify(ledgerRows.rows);
      expect(rawLedger).not.toContain('Lovelace');
      expect(rawLedger).not.toContain('ethanol');
    } finally {
      redis.disconnect();
      await client.end();
    }
  });

  it('removes spike alert records of the install only', async () => {
    const server = await startWithFake({
      TOKENWISE_DATABASE_URL: schema.url,
      TOKENWISE_REDIS_URL: TEST_REDIS_URL,
      TOKENWISE_REDIS_KEY_PREFIX: redisPrefix.prefix,
    });
    const deleted = await registerInstall(server.url);
    const kept = await registerInstall(server.url);
    const client = new pg.Client({ connectionString: TEST_POSTGRES_URL });
    await client.connect();
    try {
      await client.query(`SET search_path TO ${schema.name}`);
      await client.query(ALERT_TABLE_DDL);
      for (const key of [
        `spike:${deleted.installId}:2026-12-04T10`,
        `spike:${kept.installId}:2026-12-04T10`,
      ]) {
        await client.query(
          'INSERT INTO tokenwise_alerts_sent (alert_key, sent_at, text) VALUES ($1, 0, $2)',
          [key, 'alert'],
        );
      }

      const response = await deleteInstall(server.url, deleted.token);

      expect(response.status).toBe(200);
      const keys = await client.query<{ alert_key: string }>(
        'SELECT alert_key FROM tokenwise_alerts_sent ORDER BY 1',
      );
      expect(keys.rows.map((row) => row.alert_key)).toEqual([
        `spike:${kept.installId}:2026-12-04T10`,
      ]);
    } finally {
      await client.end();
    }
  });
});
