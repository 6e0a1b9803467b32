/**
 * Two hundred concurrent chat requests from one install over real HTTP,
 * with an allowance that covers twenty answers, on SQLite and on
 * PostgreSQL: the ledger never spends past the allowance, every rejected
 * request gets 402 (or 429 while answers in progress hold the tokens), and
 * /v1/usage agrees with the ledger.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { usageResponseSchema } from '../../lib/protocol';
import { buildPrompt } from '../../server/prompt';
import { startFakeProvider, type FakeProvider } from '../fake-provider/index';
import { createTestSchema, type TestSchema } from './databases';
import {
  expectAllowanceRefusal,
  createTempDirectory,
  findEvent,
  postChat,
  readChatEvents,
  readErrorBody,
  registerInstall,
  startTestBackend,
  type TestBackend,
} from './helpers';

const REQUESTS = 200;
const ANSWERS_COVERED = 20;
const OUTPUT_CAP = 100;
const QUESTION = 'What is the tallest mountain in Europe?';

let temp: ReturnType<typeof createTempDirectory>;
let fake: FakeProvider;
let backend: TestBackend | undefined;
let schema: TestSchema | undefined;

beforeEach(async () => {
  temp = createTempDirectory();
  fake = await startFakeProvider();
});

afterEach(async () => {
  try {
    await backend?.stop({ drainTimeoutMs: 1_000 });
  } finally {
    backend = undefined;
    await schema?.drop();
    schema = undefined;
    await fake.close();
    temp.remove();
  }
}, 30_000);

describe.each([
  { database: 'SQLite', postgres: false },
  { database: 'PostgreSQL', postgres: true },
])('concurrent chat requests on $database', ({ postgres }) => {
  it.each([
    { name: 'use their whole reservation', outputTokens: OUTPUT_CAP },
    { name: 'use a fifth of their cap', outputTokens: OUTPUT_CAP / 5 },
  ])('never overspend when answers $name', async ({ outputTokens }) => {
    schema = postgres ? createTestSchema() : undefined;
    const inputTokens = buildPrompt({
      question: QUESTION,
      history: [],
    }).inputTokens;
    const allowance = ANSWERS_COVERED * (inputTokens + OUTPUT_CAP);
    backend = await startTestBackend(temp.directory, {
      OPENAI_API_KEY: 'test-openai-key',
      OPENAI_BASE_URL: fake.openaiBaseUrl,
      TOKENWISE_CHEAP_MODEL: 'openai:gpt-5-mini',
      TOKENWISE_FREE_TOKENS: String(allowance),
      TOKENWISE_MAX_OUTPUT_TOKENS: String(OUTPUT_CAP),
      TOKENWISE_REQUESTS_PER_MINUTE: String(REQUESTS),
      TOKENWISE_TOKENS_PER_MINUTE: '100000000',
      TOKENWISE_CACHE_TTL_SECONDS: '0',
      ...(schema ? { TOKENWISE_DATABASE_URL: schema.url } : {}),
    });
    const install = await registerInstall(backend.url);
    for (let index = 0; index < REQUESTS; index++) {
      fake.enqueue({
        type: 'answer',
        text: 'Mount Elbrus, at 5,642 metres.',
        usage: { inputTokens, outputTokens },
        chunkDelayMs: 5,
      });
    }

    const results = await Promise.all(
      Array.from({ length: REQUESTS }, async () => {
        const response = await postChat(backend!.url, install.token, {
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
    expect(answered.length + rejected.length).toBe(REQUESTS);
    expect(answered.length).toBeGreaterThanOrEqual(ANSWERS_COVERED);
    if (outputTokens === OUTPUT_CAP) {
      expect(answered).toHaveLength(ANSWERS_COVERED);
    }
    for (const result of rejected) {
      expectAllowanceRefusal(result);
    }
    for (const result of answered) {
      expect(result.events?.at(-1)?.event).toBe('done');
    }
    expect(fake.requests).toHaveLength(answered.length);

    const entries = await backend.store.listLedgerEntries(install.installId);
    const settled = entries.filter((entry) => entry.kind === 'settle');
    const settledTotal = settled.reduce(
      (total, entry) => total + entry.allowanceTokens,
      0,
    );
    expect(settled).toHaveLength(answered.length);
    expect(entries.filter((entry) => entry.kind === 'reserve')).toHaveLength(
      answered.length,
    );
    expect(entries.filter((entry) => entry.kind === 'release')).toHaveLength(0);
    expect(settledTotal).toBeLessThanOrEqual(allowance);
    const chargedInEvents = answered.reduce(
      (total, result) =>
        total + findEvent(result.events ?? [], 'usage').charged,
      0,
    );
    expect(chargedInEvents).toBe(settledTotal);

    const response = await fetch(`${backend.url}/v1/usage`, {
      headers: { authorization: `Bearer ${install.token}` },
    });
    const usage = usageResponseSchema.parse(await response.json());
    expect(usage.allowance).toBe(allowance);
    expect(usage.used).toBe(settledTotal);
    expect(usage.reserved).toBe(0);
    expect(usage.remaining).toBe(allowance - settledTotal);
    const dailyCheap = usage.daily.reduce((total, day) => total + day.cheap, 0);
    expect(dailyCheap).toBe(settledTotal);
  });
});
