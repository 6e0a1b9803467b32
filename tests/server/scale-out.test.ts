/**
 * Backends as real processes (`node bin/tokenwise.js serve`): two of them
 * sharing PostgreSQL and Redis under a burst of concurrent chats, and one
 * killed with SIGKILL while answers stream and then restarted, on SQLite
 * and on PostgreSQL.
 */
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { usageResponseSchema } from '../../lib/protocol';
import { createPlans } from '../../server/plans';
import { buildPrompt } from '../../server/prompt';
import { openPostgresStore } from '../../server/store/postgres';
import { openSqliteStore } from '../../server/store/sqlite';
import type { Store } from '../../server/store/types';
import {
  startBackend,
  type RunningBackend,
} from '../../scripts/harness/backend';
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
  expectAllowanceRefusal,
  createTempDirectory,
  postChat,
  readChatEvents,
  readErrorBody,
  registerInstall,
  TEST_INSTALL_SECRET,
} from './helpers';

const QUESTION = 'What is the tallest mountain in Europe?';
const OUTPUT_CAP = 100;
const FREE_TOKENS_CONFIG = {
  premiumWeight: 5,
  requestsPerMinute: 1_000,
  tokensPerMinute: 100_000_000,
  plansFile: undefined,
};

let temp: ReturnType<typeof createTempDirectory>;
let fake: FakeProvider;
let schema: TestSchema;
let redisPrefix: TestRedisPrefix;
let backends: RunningBackend[];

beforeEach(async () => {
  temp = createTempDirectory();
  fake = await startFakeProvider();
  schema = createTestSchema();
  redisPrefix = createTestRedisPrefix();
  backends = [];
});

// A stopping backend may take up to 10 seconds before it is killed, so the
// hook gets more than vitest's default 10 seconds.
afterEach(async () => {
  try {
    await Promise.all(backends.map((backend) => backend.stop()));
  } finally {
    await fake.close();
    await schema.drop();
    await redisPrefix.clear();
    temp.remove();
  }
}, 60_000);

/** Environment of a backend process that answers through the fake provider. */
function backendEnv(extra: Record<string, string>): Record<string, string> {
  return {
    OPENAI_API_KEY: 'test-openai-key',
    OPENAI_BASE_URL: fake.openaiBaseUrl,
    TOKENWISE_CHEAP_MODEL: 'openai:gpt-5-mini',
    TOKENWISE_INSTALL_SECRET: TEST_INSTALL_SECRET,
    TOKENWISE_MAX_OUTPUT_TOKENS: String(OUTPUT_CAP),
    TOKENWISE_REQUESTS_PER_MINUTE: '1000',
    TOKENWISE_TOKENS_PER_MINUTE: '100000000',
    TOKENWISE_CACHE_TTL_SECONDS: '0',
    TOKENWISE_LOG_LEVEL: 'warn',
    ...extra,
  };
}

async function launch(
  name: string,
  env: Record<string, string>,
): Promise<RunningBackend> {
  const backend = await startBackend({
    dataDir: path.join(temp.directory, name),
    logFile: path.join(temp.directory, `${name}.log`),
    env,
  });
  backends.push(backend);
  return backend;
}

async function readUsage(url: string, token: string) {
  const response = await fetch(`${url}/v1/usage`, {
    headers: { authorization: `Bearer ${token}` },
  });
  return usageResponseSchema.parse(await response.json());
}

describe('two backend processes on PostgreSQL and Redis', () => {
  it('never overspend under a shared burst', async () => {
    const requests = 200;
    const answersCovered = 20;
    const inputTokens = buildPrompt({
      question: QUESTION,
      history: [],
    }).inputTokens;
    const allowance = answersCovered * (inputTokens + OUTPUT_CAP);
    const env = backendEnv({
      TOKENWISE_DATABASE_URL: schema.url,
      TOKENWISE_REDIS_URL: TEST_REDIS_URL,
      TOKENWISE_REDIS_KEY_PREFIX: redisPrefix.prefix,
      TOKENWISE_FREE_TOKENS: String(allowance),
    });
    const [first, second] = await Promise.all([
      launch('first', env),
      launch('second', env),
    ]);
    const install = await registerInstall(first!.url);
    for (let index = 0; index < requests; index++) {
      fake.enqueue({
        type: 'answer',
        text: 'Mount Elbrus, at 5,642 metres.',
        usage: { inputTokens, outputTokens: OUTPUT_CAP },
        chunkDelayMs: 5,
      });
    }

    const results = await Promise.all(
      Array.from({ length: requests }, async (_, index) => {
        const url = (index % 2 === 0 ? first : second)!.url;
        const response = await postChat(url, install.token, {
          question: QUESTION,
          tier: 'cheap',
        });
        return response.status === 200
          ? { status: 200, events: await readChatEvents(response) }
          : { status: response.status, error: await readErrorBody(response) };
      }),
    );

    const answered = results.filter((result) => result.status === 200);
    const rejected = results.filter((result) => result.status !== 200);
    expect(answered).toHaveLength(answersCovered);
    for (const result of rejected) {
      expectAllowanceRefusal(result);
    }
    for (const result of answered) {
      expect(result.events?.at(-1)?.event).toBe('done');
    }
    expect(fake.requests).toHaveLength(answered.length);

    const store = await openPostgresStore({
      url: TEST_POSTGRES_URL,
      schema: schema.name,
      plans: createPlans({ ...FREE_TOKENS_CONFIG, freeTokens: allowance }),
    });
    try {
      const entries = await store.listLedgerEntries(install.installId);
      const settled = entries.filter((entry) => entry.kind === 'settle');
      const settledTotal = settled.reduce(
        (total, entry) => total + entry.allowanceTokens,
        0,
      );
      expect(settled).toHaveLength(answered.length);
      expect(settledTotal).toBeLessThanOrEqual(allowance);
      for (const url of [first!.url, second!.url]) {
        const usage = await readUsage(url, install.token);
        expect(usage.used).toBe(settledTotal);
        expect(usage.reserved).toBe(0);
        expect(usage.remaining).toBe(allowance - settledTotal);
      }
    } finally {
      await store.close();
    }
  });

  it('share the per-minute limit', async () => {
    const env = backendEnv({
      TOKENWISE_DATABASE_URL: schema.url,
      TOKENWISE_REDIS_URL: TEST_REDIS_URL,
      TOKENWISE_REDIS_KEY_PREFIX: redisPrefix.prefix,
      TOKENWISE_REQUESTS_PER_MINUTE: '4',
    });
    const [first, second] = await Promise.all([
      launch('first', env),
      launch('second', env),
    ]);
    const install = await registerInstall(first!.url);

    const statuses: number[] = [];
    for (let index = 0; index < 6; index++) {
      fake.enqueue({ type: 'answer', text: 'Mount Elbrus.' });
      const url = (index % 2 === 0 ? first : second)!.url;
      const response = await postChat(url, install.token, {
        question: QUESTION,
        tier: 'cheap',
      });
      if (response.status === 200) {
        await readChatEvents(response);
      }
      statuses.push(response.status);
    }

    expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
  });
});

describe.each([
  { database: 'SQLite', postgres: false },
  { database: 'PostgreSQL', postgres: true },
])('backend killed while streaming on $database', ({ postgres }) => {
  it('releases held reservations on restart', async () => {
    const freeTokens = 10_000;
    const databaseUrl = postgres
      ? schema.url
      : path.join(temp.directory, 'shared', 'tokenwise.db');
    const env = backendEnv({
      TOKENWISE_DATABASE_URL: databaseUrl,
      TOKENWISE_FREE_TOKENS: String(freeTokens),
    });
    const crashing = await launch('crashing', env);
    const install = await registerInstall(crashing.url);

    // Two answers finish and are settled before the crash.
    for (let index = 0; index < 2; index++) {
      fake.enqueue({
        type: 'answer',
        text: 'Mount Elbrus.',
        usage: { inputTokens: 50, outputTokens: 10 },
      });
      const response = await postChat(crashing.url, install.token, {
        question: QUESTION,
        tier: 'cheap',
      });
      await readChatEvents(response);
    }
    // Three more are streaming slowly when the process is killed.
    const streaming = await Promise.all(
      Array.from({ length: 3 }, async () => {
        fake.enqueue({
          type: 'answer',
          text: Array.from({ length: 200 }, (_, word) => `word${word}`).join(
            ' ',
          ),
          chunkDelayMs: 100,
        });
        const response = await postChat(crashing.url, install.token, {
          question: QUESTION,
          tier: 'cheap',
        });
        const reader = response.body!.getReader();
        let received = '';
        while (!received.includes('text-delta')) {
          const { value } = await reader.read();
          received += new TextDecoder().decode(value);
        }
        return reader;
      }),
    );
    const exited = new Promise((resolve) =>
      crashing.process.once('exit', resolve),
    );
    crashing.process.kill('SIGKILL');
    await exited;
    for (const reader of streaming) {
      await reader.cancel().catch(() => undefined);
    }

    const plans = createPlans({ ...FREE_TOKENS_CONFIG, freeTokens });
    const openStoreDirectly = (): Promise<Store> | Store =>
      postgres
        ? openPostgresStore({
            url: TEST_POSTGRES_URL,
            schema: schema.name,
            plans,
          })
        : openSqliteStore({ path: databaseUrl, plans });
    const before = await openStoreDirectly();
    const heldAtCrash = (await before.getBalance(install.installId, new Date()))
      .reserved;
    await before.close();

    const restarted = await launch('restarted', env);
    const usage = await readUsage(restarted.url, install.token);

    expect(heldAtCrash).toBeGreaterThan(0);
    const store = await openStoreDirectly();
    try {
      const entries = await store.listLedgerEntries(install.installId);
      const count = (kind: string) =>
        entries.filter((entry) => entry.kind === kind).length;
      const settledTotal = entries
        .filter((entry) => entry.kind === 'settle')
        .reduce((total, entry) => total + entry.allowanceTokens, 0);
      expect(count('reserve')).toBe(5);
      expect(count('settle')).toBe(2);
      expect(count('release')).toBe(3);
      expect(settledTotal).toBe(120);
      expect(usage.reserved).toBe(0);
      expect(usage.used).toBe(settledTotal);
      expect(usage.remaining).toBe(freeTokens - settledTotal);
    } finally {
      await store.close();
    }
  });
});
