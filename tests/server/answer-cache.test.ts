/**
 * The server answer cache through the real backend and the fake provider:
 * stream-then-cache and replay, key isolation between installs,
 * conversations, page contexts and tiers, the shared scope, partial
 * answers that must not be cached, and single flight under concurrent
 * identical requests.
 */
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ChatEvent, ChatRequest } from '../../lib/protocol';
import { startFakeProvider, type FakeProvider } from '../fake-provider/index';
import { createTestRedisPrefix, TEST_REDIS_URL } from './databases';
import {
  createTempDirectory,
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

async function startWithFake(
  env: Record<string, string> = {},
): Promise<TestBackend> {
  backend = await startTestBackend(temp.directory, {
    OPENAI_API_KEY: 'test-openai-key',
    OPENAI_BASE_URL: fake.openaiBaseUrl,
    TOKENWISE_CHEAP_MODEL: 'openai:gpt-5-mini',
    TOKENWISE_PREMIUM_MODEL: 'openai:gpt-5.5',
    TOKENWISE_RETRY_BASE_DELAY_MS: '10',
    ...env,
  });
  return backend;
}

async function ask(
  server: TestBackend,
  token: string,
  request: ChatRequest,
): Promise<ChatEvent[]> {
  return readChatEvents(
    await postChat(server.url, token, { tier: 'cheap', ...request }),
  );
}

function joinDeltas(events: ChatEvent[]): string {
  return events
    .map((event) => (event.event === 'text-delta' ? event.data.text : ''))
    .join('');
}

const USAGE = { inputTokens: 100, cachedInputTokens: 40, outputTokens: 20 };
const QUESTION = 'What is the capital of France?';
const PAGE = {
  title: 'France',
  url: 'https://example.test/france',
  text: 'France is a country in Europe.',
};

describe('server answer cache', () => {
  it('replays a complete answer for free', async () => {
    const server = await startWithFake();
    const install = await registerInstall(server.url);
    fake.enqueue({
      type: 'answer',
      text: 'Paris is the capital.',
      usage: USAGE,
    });

    const first = await ask(server, install.token, { question: QUESTION });
    const second = await ask(server, install.token, {
      question: '  what is the capital of france ',
    });

    expect(fake.requests).toHaveLength(1);
    expect(findEvent(first, 'route').fromCache).toBe(false);
    expect(second.map((event) => event.event)).toEqual([
      'route',
      'text-delta',
      'usage',
      'done',
    ]);
    const route = findEvent(second, 'route');
    expect(route.fromCache).toBe(true);
    expect(route.tier).toBe('cheap');
    expect(joinDeltas(second)).toBe('Paris is the capital.');
    const usage = findEvent(second, 'usage');
    expect(usage.charged).toBe(0);
    expect(usage.costUsd).toBe(0);
    expect(usage.inputTokens).toBe(100);
    expect(usage.outputTokens).toBe(20);
    expect(usage.model).toBe('openai:gpt-5-mini');
    expect(usage.remaining).toBe(200_000 - 120);
    expect(findEvent(second, 'done')).toEqual({
      requestId: route.requestId,
      finishReason: 'stop',
    });

    const entries = await server.store.listLedgerEntries(install.installId);
    expect(entries.map((entry) => entry.kind)).toEqual([
      'reset',
      'reserve',
      'settle',
      'cache_hit',
    ]);
    expect(entries[3]).toMatchObject({
      requestId: route.requestId,
      tier: 'cheap',
      model: 'openai:gpt-5-mini',
      inputTokens: 100,
      outputTokens: 20,
      allowanceTokens: 120,
    });
  });

  it('serves a hit when the allowance is used up', async () => {
    const server = await startWithFake({ TOKENWISE_FREE_TOKENS: '1200' });
    const install = await registerInstall(server.url);
    fake.enqueue({
      type: 'answer',
      text: 'Paris.',
      usage: { inputTokens: 1_000, cachedInputTokens: 0, outputTokens: 150 },
    });
    await ask(server, install.token, { question: QUESTION });

    const events = await ask(server, install.token, { question: QUESTION });

    expect(joinDeltas(events)).toBe('Paris.');
    expect(findEvent(events, 'usage').charged).toBe(0);
  });

  it('keeps installs apart', async () => {
    const server = await startWithFake();
    const first = await registerInstall(server.url);
    const second = await registerInstall(server.url);
    fake.enqueue(
      { type: 'answer', text: 'For the first install.' },
      { type: 'answer', text: 'For the second install.' },
    );

    await ask(server, first.token, { question: QUESTION });
    const events = await ask(server, second.token, { question: QUESTION });

    expect(fake.requests).toHaveLength(2);
    expect(findEvent(events, 'route').fromCache).toBe(false);
    expect(joinDeltas(events)).toBe('For the second install.');
  });

  it.each([
    {
      case: 'a different conversation',
      cached: {
        question: 'And the second one?',
        history: [
          { role: 'user', content: 'List two rivers.' },
          { role: 'assistant', content: 'Seine and Loire.' },
        ],
      },
      asked: {
        question: 'And the second one?',
        history: [
          { role: 'user', content: 'List two mountains.' },
          { role: 'assistant', content: 'Mont Blanc and Matterhorn.' },
        ],
      },
    },
    {
      case: 'a follow-up without its conversation',
      cached: {
        question: 'And the second one?',
        history: [
          { role: 'user', content: 'List two rivers.' },
          { role: 'assistant', content: 'Seine and Loire.' },
        ],
      },
      asked: { question: 'And the second one?' },
    },
    {
      case: 'a different page',
      cached: { question: 'Summarise this page.', pageContext: PAGE },
      asked: {
        question: 'Summarise this page.',
        pageContext: { ...PAGE, text: 'Spain is a country in Europe.' },
      },
    },
    {
      case: 'no page',
      cached: { question: 'Summarise this page.', pageContext: PAGE },
      asked: { question: 'Summarise this page.' },
    },
    {
      case: 'another tier',
      cached: { question: QUESTION, tier: 'cheap' },
      asked: { question: QUESTION, tier: 'premium' },
    },
    {
      case: 'another number',
      cached: { question: 'What is 12 times 7?' },
      asked: { question: 'What is 12 times 8?' },
    },
  ] as const)('misses for $case', async (row) => {
    const server = await startWithFake();
    const install = await registerInstall(server.url);
    fake.enqueue(
      { type: 'answer', text: 'Cached answer.' },
      { type: 'answer', text: 'Fresh answer.' },
    );

    await ask(server, install.token, row.cached as ChatRequest);
    const events = await ask(server, install.token, row.asked as ChatRequest);

    expect(fake.requests).toHaveLength(2);
    expect(findEvent(events, 'route').fromCache).toBe(false);
    expect(joinDeltas(events)).toBe('Fresh answer.');
  });

  it('hits in the same conversation and page', async () => {
    const server = await startWithFake();
    const install = await registerInstall(server.url);
    const request: ChatRequest = {
      question: 'And the second one?',
      history: [
        { role: 'user', content: 'List two rivers.' },
        { role: 'assistant', content: 'Seine and Loire.' },
      ],
      pageContext: PAGE,
    };
    fake.enqueue({ type: 'answer', text: 'The Loire.' });

    await ask(server, install.token, request);
    const events = await ask(server, install.token, request);

    expect(fake.requests).toHaveLength(1);
    expect(findEvent(events, 'route').fromCache).toBe(true);
    expect(joinDeltas(events)).toBe('The Loire.');
  });

  it('never caches a broken stream', async () => {
    const server = await startWithFake();
    const install = await registerInstall(server.url);
    fake.enqueue(
      { type: 'end-without-finish', text: 'Paris is the', afterDeltas: 2 },
      { type: 'drop-mid-stream', text: 'Paris is the', afterDeltas: 1 },
      { type: 'answer', text: 'Paris is the capital.' },
    );

    const first = await ask(server, install.token, { question: QUESTION });
    const second = await ask(server, install.token, { question: QUESTION });
    const third = await ask(server, install.token, { question: QUESTION });
    const fourth = await ask(server, install.token, { question: QUESTION });

    expect(first.at(-1)?.event).toBe('error');
    expect(second.at(-1)?.event).toBe('error');
    expect(findEvent(second, 'route').fromCache).toBe(false);
    expect(findEvent(third, 'route').fromCache).toBe(false);
    expect(findEvent(fourth, 'route').fromCache).toBe(true);
    expect(joinDeltas(fourth)).toBe('Paris is the capital.');
    expect(fake.requests).toHaveLength(3);
  });

  it('never caches an answer cut at the cap', async () => {
    // The demo model stops with finish reason "length" at the output cap.
    const server = await startWithFake({
      OPENAI_API_KEY: '',
      TOKENWISE_MAX_OUTPUT_TOKENS: '64',
    });
    const install = await registerInstall(server.url);

    const first = await ask(server, install.token, { question: QUESTION });
    const second = await ask(server, install.token, { question: QUESTION });

    expect(findEvent(first, 'done').finishReason).toBe('length');
    expect(findEvent(second, 'route').fromCache).toBe(false);
    expect(findEvent(second, 'usage').charged).toBeGreaterThan(0);
  });

  it('never caches a failed call', async () => {
    const server = await startWithFake({ TOKENWISE_MAX_ATTEMPTS: '1' });
    const install = await registerInstall(server.url);
    fake.enqueue(
      { type: 'status', status: 500 },
      { type: 'answer', text: 'Paris.' },
    );

    await ask(server, install.token, { question: QUESTION });
    const events = await ask(server, install.token, { question: QUESTION });

    expect(findEvent(events, 'route').fromCache).toBe(false);
    expect(fake.requests).toHaveLength(2);
  });

  it('stays off with a TTL of 0', async () => {
    const server = await startWithFake({ TOKENWISE_CACHE_TTL_SECONDS: '0' });
    const install = await registerInstall(server.url);

    await ask(server, install.token, { question: QUESTION });
    await ask(server, install.token, { question: QUESTION });

    expect(fake.requests).toHaveLength(2);
  });
});

describe('shared cache scope', () => {
  it('shares context-free answers across installs', async () => {
    const server = await startWithFake({ TOKENWISE_SHARED_CACHE: 'true' });
    const first = await registerInstall(server.url);
    const second = await registerInstall(server.url);
    fake.enqueue({ type: 'answer', text: 'Paris.', usage: USAGE });

    await ask(server, first.token, { question: QUESTION });
    const events = await ask(server, second.token, { question: QUESTION });

    expect(fake.requests).toHaveLength(1);
    expect(findEvent(events, 'route').fromCache).toBe(true);
    expect(joinDeltas(events)).toBe('Paris.');
    const entries = await server.store.listLedgerEntries(second.installId);
    expect(entries.map((entry) => entry.kind)).toEqual(['reset', 'cache_hit']);
  });

  it.each([
    {
      case: 'history',
      request: {
        question: QUESTION,
        history: [
          { role: 'user', content: 'Hi' },
          { role: 'assistant', content: 'Hello!' },
        ],
      },
    },
    {
      case: 'page context',
      request: { question: QUESTION, pageContext: PAGE },
    },
  ] as const)('keeps questions with $case private', async (row) => {
    const server = await startWithFake({ TOKENWISE_SHARED_CACHE: 'true' });
    const first = await registerInstall(server.url);
    const second = await registerInstall(server.url);
    fake.enqueue(
      { type: 'answer', text: 'For the first install.' },
      { type: 'answer', text: 'For the second install.' },
    );

    await ask(server, first.token, row.request as ChatRequest);
    const events = await ask(server, second.token, row.request as ChatRequest);

    expect(fake.requests).toHaveLength(2);
    expect(joinDeltas(events)).toBe('For the second install.');
  });

  it('stays private when turned off', async () => {
    const server = await startWithFake({ TOKENWISE_SHARED_CACHE: 'false' });
    const first = await registerInstall(server.url);
    const second = await registerInstall(server.url);

    await ask(server, first.token, { question: QUESTION });
    const events = await ask(server, second.token, { question: QUESTION });

    expect(fake.requests).toHaveLength(2);
    expect(findEvent(events, 'route').fromCache).toBe(false);
  });
});

describe('single flight', () => {
  it('calls the provider once for identical requests', async () => {
    const server = await startWithFake();
    const install = await registerInstall(server.url);
    fake.enqueue({
      type: 'answer',
      text: 'one two three four five six',
      chunkDelayMs: 40,
      usage: USAGE,
    });

    const results = await Promise.all(
      Array.from({ length: 5 }, () =>
        ask(server, install.token, { question: QUESTION }),
      ),
    );

    expect(fake.requests).toHaveLength(1);
    for (const events of results) {
      expect(joinDeltas(events)).toBe('one two three four five six');
      expect(events.at(-1)?.event).toBe('done');
    }
    const fromCache = results.map(
      (events) => findEvent(events, 'route').fromCache,
    );
    expect(fromCache.filter((value) => !value)).toHaveLength(1);
    const charged = results.map((events) => findEvent(events, 'usage').charged);
    expect(charged.toSorted((a, b) => b - a)).toEqual([120, 0, 0, 0, 0]);
    const kinds = (await server.store.listLedgerEntries(install.installId)).map(
      (entry) => entry.kind,
    );
    expect(kinds.filter((kind) => kind === 'settle')).toHaveLength(1);
    expect(kinds.filter((kind) => kind === 'cache_hit')).toHaveLength(4);
    expect(kinds.filter((kind) => kind === 'reserve')).toHaveLength(1);
  });

  it('fails the followers with the leader', async () => {
    const server = await startWithFake({ TOKENWISE_MAX_ATTEMPTS: '1' });
    const install = await registerInstall(server.url);
    fake.enqueue({
      type: 'slow-first-byte',
      delayMs: 300,
      then: { type: 'status', status: 500 },
    });

    const results = await Promise.all(
      Array.from({ length: 3 }, () =>
        ask(server, install.token, { question: QUESTION }),
      ),
    );

    expect(fake.requests).toHaveLength(1);
    for (const events of results) {
      expect(events.at(-1)?.event).toBe('error');
    }
    const followerError = results
      .filter((events) => findEvent(events, 'route').fromCache)
      .map((events) => findEvent(events, 'error'));
    expect(followerError).toHaveLength(2);
    expect(followerError[0]?.message).toContain('Ask again');
    expect(followerError[0]?.message).toContain('nothing was charged');
    const usage = await fetch(`${server.url}/v1/usage`, {
      headers: { authorization: `Bearer ${install.token}` },
    }).then((response) => response.json() as Promise<{ used: number }>);
    expect(usage.used).toBe(0);
  });
});

describe('answer cache on Redis', () => {
  it('shares answers between two backends', async () => {
    const redisPrefix = createTestRedisPrefix();
    const second = createTempDirectory();
    const env = {
      OPENAI_API_KEY: 'test-openai-key',
      OPENAI_BASE_URL: fake.openaiBaseUrl,
      TOKENWISE_CHEAP_MODEL: 'openai:gpt-5-mini',
      TOKENWISE_REDIS_URL: TEST_REDIS_URL,
      TOKENWISE_REDIS_KEY_PREFIX: redisPrefix.prefix,
      TOKENWISE_SHARED_CACHE: 'true',
    };
    const first = await startTestBackend(temp.directory, env);
    const other = await startTestBackend(second.directory, env);
    try {
      const firstInstall = await registerInstall(first.url);
      const otherInstall = await registerInstall(other.url);
      fake.enqueue({ type: 'answer', text: 'Paris.', usage: USAGE });

      await ask(first, firstInstall.token, { question: QUESTION });
      const events = await ask(other, otherInstall.token, {
        question: QUESTION,
      });

      expect(fake.requests).toHaveLength(1);
      expect(findEvent(events, 'route').fromCache).toBe(true);
      expect(joinDeltas(events)).toBe('Paris.');
      expect(findEvent(events, 'usage').charged).toBe(0);
      const redis = new Redis(TEST_REDIS_URL);
      try {
        // The entry lives under the configured prefix, so the prefix's
        // cleanup below removes it.
        const keys = await redis.keys(`${redisPrefix.prefix}answer-cache:*`);
        expect(keys.length).toBeGreaterThan(0);
      } finally {
        redis.disconnect();
      }
    } finally {
      await first.stop({ drainTimeoutMs: 1_000 });
      await other.stop({ drainTimeoutMs: 1_000 });
      await redisPrefix.clear();
      second.remove();
    }
  });
});
