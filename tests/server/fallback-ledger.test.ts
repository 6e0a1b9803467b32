/**
 * The ledger entries of an answer given by the tier's fallback model, on
 * SQLite and on PostgreSQL: the reservation names the tier's model, the
 * settlement names the model that answered, so dollars recomputed from the
 * ledger use the right price.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ChatEvent } from '../../lib/protocol';
import { startFakeProvider, type FakeProvider } from '../fake-provider/index';
import { createTestSchema, type TestSchema } from './databases';
import {
  createTempDirectory,
  findEvent,
  postChat,
  readChatEvents,
  registerInstall,
  startTestBackend,
  type TestBackend,
} from './helpers';

const USAGE = { inputTokens: 100, cachedInputTokens: 0, outputTokens: 20 };

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
])('fallback ledger on $database', ({ postgres }) => {
  async function start(): Promise<TestBackend> {
    schema = postgres ? createTestSchema() : undefined;
    backend = await startTestBackend(temp.directory, {
      OPENAI_API_KEY: 'test-openai-key',
      OPENAI_BASE_URL: fake.openaiBaseUrl,
      ANTHROPIC_API_KEY: 'test-anthropic-key',
      ANTHROPIC_BASE_URL: fake.anthropicBaseUrl,
      TOKENWISE_CHEAP_MODEL: 'openai:gpt-5-mini',
      TOKENWISE_CHEAP_FALLBACK_MODEL: 'anthropic:claude-haiku-4-5',
      TOKENWISE_MAX_ATTEMPTS: '2',
      TOKENWISE_RETRY_BASE_DELAY_MS: '10',
      TOKENWISE_CACHE_TTL_SECONDS: '0',
      ...(schema ? { TOKENWISE_DATABASE_URL: schema.url } : {}),
    });
    return backend;
  }

  async function askCheap(server: TestBackend, token: string) {
    const events: ChatEvent[] = await readChatEvents(
      await postChat(server.url, token, {
        question: 'What is the capital of France?',
        tier: 'cheap',
      }),
    );
    return events;
  }

  it('names the fallback in the settlement', async () => {
    const server = await start();
    const install = await registerInstall(server.url);
    fake.enqueue(
      { type: 'status', status: 500 },
      { type: 'status', status: 503 },
      { type: 'answer', text: 'Paris, from Claude.', usage: USAGE },
    );

    const events = await askCheap(server, install.token);

    expect(findEvent(events, 'usage').model).toBe('anthropic:claude-haiku-4-5');
    const entries = await server.store.listLedgerEntries(install.installId);
    const reserve = entries.find((entry) => entry.kind === 'reserve');
    const settles = entries.filter((entry) => entry.kind === 'settle');
    expect(reserve?.model).toBe('openai:gpt-5-mini');
    expect(settles).toHaveLength(1);
    expect(settles[0]?.model).toBe('anthropic:claude-haiku-4-5');
    expect(settles[0]?.inputTokens).toBe(USAGE.inputTokens);
    expect(settles[0]?.outputTokens).toBe(USAGE.outputTokens);
  });

  it('names the tier model after a retry', async () => {
    const server = await start();
    const install = await registerInstall(server.url);
    fake.enqueue(
      { type: 'status', status: 500 },
      { type: 'answer', text: 'Paris.', usage: USAGE },
    );

    const events = await askCheap(server, install.token);

    expect(fake.requests.map((request) => request.format)).toEqual([
      'openai',
      'openai',
    ]);
    expect(findEvent(events, 'usage').model).toBe('openai:gpt-5-mini');
    const entries = await server.store.listLedgerEntries(install.installId);
    const settle = entries.find((entry) => entry.kind === 'settle');
    expect(settle?.model).toBe('openai:gpt-5-mini');
  });

  it('names the fallback for a partial answer', async () => {
    const server = await start();
    const install = await registerInstall(server.url);
    fake.enqueue(
      { type: 'status', status: 500 },
      { type: 'status', status: 500 },
      {
        type: 'end-without-finish',
        text: 'Paris is the capital',
        afterDeltas: 2,
      },
    );

    const events = await askCheap(server, install.token);

    expect(findEvent(events, 'error').code).toBe('upstream_failed');
    const entries = await server.store.listLedgerEntries(install.installId);
    const settle = entries.find((entry) => entry.kind === 'settle');
    expect(settle?.model).toBe('anthropic:claude-haiku-4-5');
    expect(settle?.estimated).toBe(true);
  });
});
