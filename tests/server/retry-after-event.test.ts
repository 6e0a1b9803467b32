/**
 * The wait a provider asks for (Retry-After) after the retries ran out:
 * the chat error event carries it as whole seconds, so the side panel can
 * say when to ask again, and leaves it out when there is nothing to wait
 * for. The last block covers describeFailure's rounding directly.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ChatEvent } from '../../lib/protocol';
import { describeFailure } from '../../server/chat/describe-failure';
import type { TierProvider } from '../../server/providers/index';
import { ProviderError } from '../../server/providers/types';
import { startFakeProvider, type FakeProvider } from '../fake-provider/index';
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

async function askCheap(env: Record<string, string>): Promise<ChatEvent[]> {
  backend = await startTestBackend(temp.directory, {
    OPENAI_API_KEY: 'test-openai-key',
    OPENAI_BASE_URL: fake.openaiBaseUrl,
    TOKENWISE_CHEAP_MODEL: 'openai:gpt-5-mini',
    TOKENWISE_RETRY_BASE_DELAY_MS: '10',
    TOKENWISE_CACHE_TTL_SECONDS: '0',
    ...env,
  });
  const install = await registerInstall(backend.url);
  return readChatEvents(
    await postChat(backend.url, install.token, {
      question: 'What is the capital of France?',
      tier: 'cheap',
    }),
  );
}

describe('error event retryAfterSeconds', () => {
  it('carries a 429 wait in seconds', async () => {
    fake.enqueue({ type: 'status', status: 429, retryAfter: 45 });

    const events = await askCheap({ TOKENWISE_MAX_ATTEMPTS: '3' });

    const error = findEvent(events, 'error');
    expect(error.code).toBe('upstream_failed');
    expect(error.retryAfterSeconds).toBe(45);
    expect(error.message).toContain('Ask again in 45 seconds');
  });

  it('carries the last wait after retries', async () => {
    fake.enqueue(
      { type: 'status', status: 429, retryAfter: 0 },
      { type: 'status', status: 429, retryAfter: 30 },
    );

    const events = await askCheap({
      TOKENWISE_MAX_ATTEMPTS: '2',
      TOKENWISE_RETRY_MAX_DELAY_MS: '100',
    });

    expect(fake.requests).toHaveLength(2);
    expect(findEvent(events, 'error').retryAfterSeconds).toBe(30);
  });

  it('reads a Retry-After date', async () => {
    const inThreeMinutes = new Date(Date.now() + 180_000).toUTCString();
    fake.enqueue({ type: 'status', status: 503, retryAfter: inThreeMinutes });

    const events = await askCheap({ TOKENWISE_MAX_ATTEMPTS: '1' });

    const error = findEvent(events, 'error');
    // An HTTP date has whole-second precision and the request takes time.
    expect(error.retryAfterSeconds).toBeGreaterThanOrEqual(175);
    expect(error.retryAfterSeconds).toBeLessThanOrEqual(181);
    expect(error.message).toContain('Ask again in about 3 minutes');
  });

  it('leaves it out without Retry-After', async () => {
    fake.enqueue({ type: 'status', status: 500 });

    const events = await askCheap({ TOKENWISE_MAX_ATTEMPTS: '1' });

    const error = findEvent(events, 'error');
    expect(error.code).toBe('upstream_failed');
    expect(error).not.toHaveProperty('retryAfterSeconds');
  });

  it('leaves it out of a 400', async () => {
    fake.enqueue({ type: 'status', status: 400, retryAfter: 30 });

    const events = await askCheap({ TOKENWISE_MAX_ATTEMPTS: '3' });

    expect(fake.requests).toHaveLength(1);
    expect(findEvent(events, 'error')).not.toHaveProperty('retryAfterSeconds');
  });
});

describe('single flight retryAfterSeconds', () => {
  it('carries the wait to followers', async () => {
    backend = await startTestBackend(temp.directory, {
      OPENAI_API_KEY: 'test-openai-key',
      OPENAI_BASE_URL: fake.openaiBaseUrl,
      TOKENWISE_CHEAP_MODEL: 'openai:gpt-5-mini',
      TOKENWISE_MAX_ATTEMPTS: '3',
    });
    const install = await registerInstall(backend.url);
    fake.enqueue({
      type: 'slow-first-byte',
      delayMs: 300,
      then: { type: 'status', status: 429, retryAfter: 45 },
    });

    const results = await Promise.all(
      Array.from({ length: 3 }, async () =>
        readChatEvents(
          await postChat(backend!.url, install.token, {
            question: 'What is the capital of France?',
            tier: 'cheap',
          }),
        ),
      ),
    );

    expect(fake.requests).toHaveLength(1);
    const followers = results.filter(
      (events) => findEvent(events, 'route').fromCache,
    );
    expect(followers).toHaveLength(2);
    for (const events of results) {
      const error = findEvent(events, 'error');
      expect(error.code).toBe('upstream_failed');
      expect(error.retryAfterSeconds).toBe(45);
      expect(error.message).toContain('Ask again in 45 seconds');
    }
  });
});

describe('describeFailure retryAfterSeconds', () => {
  const tierProvider = {
    tier: 'cheap',
    modelName: 'openai:gpt-5-mini',
  } as TierProvider;

  function describeRateLimit(retryAfterSeconds: number | undefined) {
    return describeFailure({
      error: new ProviderError({
        provider: 'openai',
        message: 'Too many requests.',
        status: 429,
        retryAfterSeconds,
        retryable: true,
      }),
      stopping: false,
      delivered: false,
      tier: 'cheap',
      tierProvider,
    });
  }

  it.each([
    { input: 0.2, expected: 1 },
    { input: 7.01, expected: 8 },
    { input: 600, expected: 600 },
  ])('rounds $input up to $expected', ({ input, expected }) => {
    expect(describeRateLimit(input).retryAfterSeconds).toBe(expected);
  });

  it.each([undefined, 0, -5, Number.NaN, Number.POSITIVE_INFINITY])(
    'drops a wait of %s',
    (input) => {
      const failure = describeRateLimit(input);
      expect(failure).not.toHaveProperty('retryAfterSeconds');
      expect(failure.message).toContain('Ask again in a moment');
    },
  );

  it('keeps the wait of a timeout', () => {
    const failure = describeFailure({
      error: new ProviderError({
        provider: 'openai',
        message: 'No first token.',
        retryAfterSeconds: 12,
        retryable: true,
        timedOut: true,
      }),
      stopping: false,
      delivered: true,
      tier: 'cheap',
      tierProvider,
    });
    expect(failure.code).toBe('upstream_timeout');
    expect(failure.retryAfterSeconds).toBe(12);
  });
});
