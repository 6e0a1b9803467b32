/**
 * Provider faults through the real backend and the fake provider: what the
 * client receives and what the ledger records for retries, Retry-After,
 * the same-tier fallback, each timeout, and a stream that ends without
 * finishing. The server answer cache is off, so each request calls the
 * provider.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { computeCostUsd, DEFAULT_PRICES } from '../../lib/catalog';
import type { ChatEvent } from '../../lib/protocol';
import { countTokens } from '../../lib/tokens';
import { ConfigError } from '../../server/config';
import { SYSTEM_PROMPT } from '../../server/prompt';
import { startFakeProvider, type FakeProvider } from '../fake-provider/index';
import {
  createTempDirectory,
  createTestConfig,
  findEvent,
  postChat,
  readChatEvents,
  registerInstall,
  startTestBackend,
  type TestBackend,
} from './helpers';

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

/** Starts the backend with the cheap tier on the fake's OpenAI format. */
async function startWithFake(
  env: Record<string, string> = {},
): Promise<TestBackend> {
  backend = await startTestBackend(temp.directory, {
    OPENAI_API_KEY: 'test-openai-key',
    OPENAI_BASE_URL: fake.openaiBaseUrl,
    ANTHROPIC_API_KEY: 'test-anthropic-key',
    ANTHROPIC_BASE_URL: fake.anthropicBaseUrl,
    GEMINI_API_KEY: 'test-gemini-key',
    GEMINI_BASE_URL: fake.geminiBaseUrl,
    TOKENWISE_CHEAP_MODEL: 'openai:gpt-5-mini',
    TOKENWISE_PREMIUM_MODEL: 'openai:gpt-5.5',
    TOKENWISE_RETRY_BASE_DELAY_MS: '10',
    TOKENWISE_CACHE_TTL_SECONDS: '0',
    ...env,
  });
  return backend;
}

async function askCheap(
  server: TestBackend,
  token: string,
  question = 'What is the capital of France?',
): Promise<ChatEvent[]> {
  return readChatEvents(
    await postChat(server.url, token, { question, tier: 'cheap' }),
  );
}

function joinDeltas(events: ChatEvent[]): string {
  return events
    .map((event) => (event.event === 'text-delta' ? event.data.text : ''))
    .join('');
}

async function listKinds(server: TestBackend, installId: string) {
  const entries = await server.store.listLedgerEntries(installId);
  return entries.map((entry) => entry.kind);
}

const USAGE = { inputTokens: 100, cachedInputTokens: 0, outputTokens: 20 };

describe('retries before the answer starts', () => {
  it('retries a 429 and charges once', async () => {
    const server = await startWithFake();
    const install = await registerInstall(server.url);
    fake.enqueue(
      { type: 'status', status: 429, headers: { 'retry-after-ms': '50' } },
      { type: 'answer', text: 'Paris.', usage: USAGE },
    );

    const events = await askCheap(server, install.token);

    expect(events.map((event) => event.event)).toEqual([
      'route',
      'text-delta',
      'usage',
      'done',
    ]);
    expect(joinDeltas(events)).toBe('Paris.');
    expect(fake.requests).toHaveLength(2);
    const usage = findEvent(events, 'usage');
    expect(usage.charged).toBe(120);
    expect(usage.model).toBe('openai:gpt-5-mini');
    expect(await listKinds(server, install.installId)).toEqual([
      'reset',
      'reserve',
      'settle',
    ]);
    const retryLine = server.logs.lines.find(
      (line) => line.msg === 'Provider call failed before answering; retrying.',
    );
    expect(retryLine?.status).toBe(429);
    expect(retryLine?.delayMs).toBe(50);
  });

  it('honours a Retry-After in seconds', async () => {
    const server = await startWithFake();
    const install = await registerInstall(server.url);
    fake.enqueue(
      { type: 'status', status: 503, retryAfter: 1 },
      { type: 'answer', text: 'Paris.', usage: USAGE },
    );

    const events = await askCheap(server, install.token);

    expect(events.at(-1)?.event).toBe('done');
    const retryLine = server.logs.lines.find(
      (line) => line.msg === 'Provider call failed before answering; retrying.',
    );
    expect(retryLine?.delayMs).toBe(1_000);
    expect(retryLine?.retryAfterSeconds).toBe(1);
  });

  it('stops after the configured attempts', async () => {
    const server = await startWithFake({ TOKENWISE_MAX_ATTEMPTS: '2' });
    const install = await registerInstall(server.url);
    fake.enqueue(
      { type: 'status', status: 500 },
      { type: 'status', status: 500 },
      { type: 'answer', text: 'Never sent.' },
    );

    const events = await askCheap(server, install.token);

    expect(events.map((event) => event.event)).toEqual(['route', 'error']);
    expect(fake.requests).toHaveLength(2);
    const error = findEvent(events, 'error');
    expect(error.code).toBe('upstream_failed');
    expect(error.message).toContain('openai:gpt-5-mini');
    expect(error.message).toContain('HTTP 500');
    expect(error.message).toContain('Nothing was charged');
    expect(await listKinds(server, install.installId)).toEqual([
      'reset',
      'reserve',
      'release',
    ]);
  });

  it('does not retry a 400', async () => {
    const server = await startWithFake();
    const install = await registerInstall(server.url);
    fake.enqueue({ type: 'status', status: 400 });

    const events = await askCheap(server, install.token);

    expect(fake.requests).toHaveLength(1);
    const error = findEvent(events, 'error');
    expect(error.code).toBe('upstream_failed');
    expect(error.message).toContain('backend operator');
  });

  it('names a long Retry-After in the error', async () => {
    const server = await startWithFake({ TOKENWISE_MAX_ATTEMPTS: '3' });
    const install = await registerInstall(server.url);
    fake.enqueue({ type: 'status', status: 429, retryAfter: 45 });

    const events = await askCheap(server, install.token);

    // 45 s is over the 20 s maximum delay, so the attempts end at once.
    expect(fake.requests).toHaveLength(1);
    const error = findEvent(events, 'error');
    expect(error.code).toBe('upstream_failed');
    expect(error.message).toContain('Ask again in 45 seconds');
  });
});

describe('same-tier fallback', () => {
  it('charges the fallback at its price', async () => {
    const server = await startWithFake({
      TOKENWISE_MAX_ATTEMPTS: '2',
      TOKENWISE_CHEAP_FALLBACK_MODEL: 'anthropic:claude-haiku-4-5',
    });
    const install = await registerInstall(server.url);
    fake.enqueue(
      { type: 'status', status: 500 },
      { type: 'status', status: 529 },
      { type: 'answer', text: 'Paris, from Claude.', usage: USAGE },
    );

    const events = await askCheap(server, install.token);

    expect(fake.requests.map((request) => request.format)).toEqual([
      'openai',
      'openai',
      'anthropic',
    ]);
    expect(fake.requests[2]?.model).toBe('claude-haiku-4-5');
    expect(joinDeltas(events)).toBe('Paris, from Claude.');
    expect(findEvent(events, 'route').model).toBe('openai:gpt-5-mini');
    const usage = findEvent(events, 'usage');
    expect(usage.model).toBe('anthropic:claude-haiku-4-5');
    const price = DEFAULT_PRICES['anthropic:claude-haiku-4-5'];
    expect(price).toBeDefined();
    expect(usage.costUsd).toBeCloseTo(computeCostUsd(price!, USAGE), 12);
    expect(usage.charged).toBe(120);
    const entries = await server.store.listLedgerEntries(install.installId);
    const settles = entries.filter((entry) => entry.kind === 'settle');
    expect(settles).toHaveLength(1);
    expect(settles[0]?.allowanceTokens).toBe(120);
  });

  it('names both models when both fail', async () => {
    const server = await startWithFake({
      TOKENWISE_MAX_ATTEMPTS: '1',
      TOKENWISE_CHEAP_FALLBACK_MODEL: 'gemini:gemini-2.5-flash',
    });
    const install = await registerInstall(server.url);
    fake.enqueue(
      { type: 'status', status: 500 },
      { type: 'status', status: 503 },
    );

    const events = await askCheap(server, install.token);

    expect(fake.requests.map((request) => request.format)).toEqual([
      'openai',
      'gemini',
    ]);
    const error = findEvent(events, 'error');
    expect(error.message).toContain('openai:gpt-5-mini');
    expect(error.message).toContain('its fallback (gemini:gemini-2.5-flash)');
    expect(await listKinds(server, install.installId)).toEqual([
      'reset',
      'reserve',
      'release',
    ]);
  });

  it('rejects the demo model as a fallback', () => {
    expect(() =>
      createTestConfig(temp.directory, {
        TOKENWISE_PREMIUM_FALLBACK_MODEL: 'demo:anything',
      }),
    ).toThrow(ConfigError);
  });

  it('gives a demo tier no fallback', async () => {
    const server = await startWithFake({
      OPENAI_API_KEY: '',
      TOKENWISE_CHEAP_FALLBACK_MODEL: 'anthropic:claude-haiku-4-5',
    });
    const install = await registerInstall(server.url);
    const events = await askCheap(server, install.token);

    expect(fake.requests).toHaveLength(0);
    expect(findEvent(events, 'route').model).toBe('demo:openai:gpt-5-mini');
  });
});

describe('timeouts', () => {
  it('times out a slow connect', async () => {
    const server = await startWithFake({
      TOKENWISE_MAX_ATTEMPTS: '1',
      TOKENWISE_CONNECT_TIMEOUT_MS: '200',
    });
    const install = await registerInstall(server.url);
    fake.enqueue({ type: 'slow-first-byte', delayMs: 3_000 });

    const events = await askCheap(server, install.token);

    expect(events.map((event) => event.event)).toEqual(['route', 'error']);
    const error = findEvent(events, 'error');
    expect(error.code).toBe('upstream_timeout');
    expect(error.message).toContain('did not answer in time');
    expect(error.message).toContain('Nothing was charged');
    expect(await listKinds(server, install.installId)).toEqual([
      'reset',
      'reserve',
      'release',
    ]);
  });

  it('times out a slow first token', async () => {
    const server = await startWithFake({
      TOKENWISE_MAX_ATTEMPTS: '1',
      TOKENWISE_FIRST_TOKEN_TIMEOUT_MS: '300',
    });
    const install = await registerInstall(server.url);
    fake.enqueue({ type: 'slow-first-byte', delayMs: 3_000, stage: 'body' });

    const events = await askCheap(server, install.token);

    expect(findEvent(events, 'error').code).toBe('upstream_timeout');
    expect(await listKinds(server, install.installId)).toEqual([
      'reset',
      'reserve',
      'release',
    ]);
  });

  it('retries a timeout before the answer', async () => {
    const server = await startWithFake({
      TOKENWISE_CONNECT_TIMEOUT_MS: '200',
    });
    const install = await registerInstall(server.url);
    fake.enqueue(
      { type: 'slow-first-byte', delayMs: 3_000 },
      { type: 'answer', text: 'Paris.', usage: USAGE },
    );

    const events = await askCheap(server, install.token);

    expect(events.at(-1)?.event).toBe('done');
    expect(findEvent(events, 'usage').charged).toBe(120);
  });

  it('times out silence mid-answer', async () => {
    const server = await startWithFake({ TOKENWISE_IDLE_TIMEOUT_MS: '200' });
    const install = await registerInstall(server.url);
    fake.enqueue({
      type: 'stall',
      text: 'alpha beta gamma delta',
      afterDeltas: 2,
      ms: 3_000,
    });

    const events = await askCheap(server, install.token);

    const delivered = joinDeltas(events);
    expect(delivered).toBe('alpha beta ');
    expect(fake.requests).toHaveLength(1);
    const error = findEvent(events, 'error');
    expect(error.code).toBe('upstream_timeout');
    expect(error.message).toContain('Only the delivered part was charged');
    const usage = findEvent(events, 'usage');
    expect(usage.outputTokens).toBe(countTokens(delivered));
    expect(await listKinds(server, install.installId)).toEqual([
      'reset',
      'reserve',
      'settle',
    ]);
  });
});

describe('streams that end badly', () => {
  it('charges the delivered part on an unfinished end', async () => {
    const server = await startWithFake();
    const install = await registerInstall(server.url);
    fake.enqueue({
      type: 'end-without-finish',
      text: 'one two three four',
      afterDeltas: 2,
    });

    const events = await askCheap(server, install.token);

    const delivered = joinDeltas(events);
    expect(delivered).toBe('one two ');
    expect(events.map((event) => event.event).slice(-2)).toEqual([
      'usage',
      'error',
    ]);
    expect(fake.requests).toHaveLength(1);
    const route = findEvent(events, 'route');
    const usage = findEvent(events, 'usage');
    expect(usage.estimated).toBe(true);
    expect(usage.charged).toBe(route.inputTokens + countTokens(delivered));
    const error = findEvent(events, 'error');
    expect(error.code).toBe('upstream_failed');
    expect(error.message).toContain('broke off');
    expect(error.message).toContain('Only the delivered part was charged');
    const settle = (
      await server.store.listLedgerEntries(install.installId)
    ).find((entry) => entry.kind === 'settle');
    expect(settle?.estimated).toBe(true);
    expect(settle?.outputTokens).toBe(countTokens(delivered));
  });

  it('retries a malformed first event', async () => {
    const server = await startWithFake();
    const install = await registerInstall(server.url);
    fake.enqueue(
      { type: 'malformed-event', text: 'broken answer', afterDeltas: 0 },
      { type: 'answer', text: 'Paris.', usage: USAGE },
    );

    const events = await askCheap(server, install.token);

    expect(joinDeltas(events)).toBe('Paris.');
    expect(fake.requests).toHaveLength(2);
    expect(findEvent(events, 'usage').charged).toBe(120);
  });
});

describe('stable prompt prefix', () => {
  it.each([
    { provider: 'openai', model: 'openai:gpt-5-mini' },
    { provider: 'anthropic', model: 'anthropic:claude-haiku-4-5' },
    { provider: 'gemini', model: 'gemini:gemini-2.5-flash' },
  ] as const)('sends the system prompt first to $provider', async (row) => {
    const server = await startWithFake({ TOKENWISE_CHEAP_MODEL: row.model });
    const install = await registerInstall(server.url);

    await askCheap(server, install.token, 'First question?');
    await askCheap(server, install.token, 'A different question?');

    expect(fake.requests).toHaveLength(2);
    const systems = fake.requests.map((request) => {
      const body = request.body as Record<string, unknown>;
      if (row.provider === 'openai') {
        const messages = body.messages as Array<{
          role: string;
          content: string;
        }>;
        expect(messages[0]?.role).toBe('system');
        return messages[0]?.content;
      }
      if (row.provider === 'anthropic') {
        const system = body.system as Array<{
          text: string;
          cache_control?: { type: string };
        }>;
        expect(system[0]?.cache_control).toEqual({ type: 'ephemeral' });
        return system[0]?.text;
      }
      const instruction = body.systemInstruction as {
        parts: Array<{ text: string }>;
      };
      return instruction.parts[0]?.text;
    });
    expect(systems).toEqual([SYSTEM_PROMPT, SYSTEM_PROMPT]);
  });
});
