/**
 * Behaviour every provider adapter shares, run against the fake provider in
 * each adapter's own wire format: streaming, usage, HTTP errors and broken
 * streams.
 */
import { createServer } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAnthropicAdapter } from '../../../server/providers/anthropic';
import { createGeminiAdapter } from '../../../server/providers/gemini';
import { createOpenAiCompatibleAdapter } from '../../../server/providers/openai-compatible';
import {
  isProviderError,
  type ProviderAdapter,
  type ProviderError,
} from '../../../server/providers/types';
import {
  describeDefaultAnswer,
  startFakeProvider,
  type FakeFormat,
  type FakeProvider,
} from '../../fake-provider';
import { buildCall, collectStream, QUESTION } from './helpers';

interface AdapterCase {
  name: string;
  format: FakeFormat;
  create: (fake: FakeProvider) => ProviderAdapter;
}

const ADAPTERS: AdapterCase[] = [
  {
    name: 'anthropic',
    format: 'anthropic',
    create: (fake) =>
      createAnthropicAdapter({
        apiKey: 'test-key',
        baseUrl: fake.anthropicBaseUrl,
      }),
  },
  {
    name: 'gemini',
    format: 'gemini',
    create: (fake) =>
      createGeminiAdapter({ apiKey: 'test-key', baseUrl: fake.geminiBaseUrl }),
  },
  {
    name: 'openai-compatible',
    format: 'openai',
    create: (fake) =>
      createOpenAiCompatibleAdapter({
        provider: 'openai',
        apiKey: 'test-key',
        baseUrl: fake.openaiBaseUrl,
      }),
  },
];

let fake: FakeProvider;

beforeEach(async () => {
  fake = await startFakeProvider();
});

afterEach(async () => {
  await fake.close();
});

/** Returns a URL on 127.0.0.1 where nothing listens. */
async function findClosedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

describe.each(ADAPTERS)('$name adapter', ({ format, create }) => {
  it('streams text in several deltas', async () => {
    const result = await collectStream(create(fake).streamChat(buildCall()));

    expect(result.error).toBeUndefined();
    expect(result.text).toBe(describeDefaultAnswer(QUESTION));
    expect(result.deltas.length).toBeGreaterThan(3);
    expect(result.finishReason).toBe('stop');
    expect(result.events.at(-1)?.type).toBe('finish');
    expect(fake.requests[0]?.format).toBe(format);
    expect(fake.requests[0]?.model).toBe('test-model');
  });

  it('reads cached and reasoning tokens', async () => {
    fake.enqueue({
      type: 'answer',
      text: 'Paris.',
      usage: {
        inputTokens: 1200,
        cachedInputTokens: 1024,
        outputTokens: 30,
        reasoningTokens: 45,
      },
    });
    const result = await collectStream(create(fake).streamChat(buildCall()));

    expect(result.usages.at(-1)).toEqual({
      inputTokens: 1200,
      cachedInputTokens: 1024,
      outputTokens: 75,
    });
  });

  it('reports usage once, not summed', async () => {
    // Gemini repeats the usage on every chunk and Anthropic repeats it in
    // message_delta, so a summing adapter would report several times more.
    fake.enqueue({
      type: 'answer',
      deltas: ['one ', 'two ', 'three ', 'four'],
      usage: { inputTokens: 500, outputTokens: 4 },
    });
    const result = await collectStream(create(fake).streamChat(buildCall()));

    expect(result.usages).toHaveLength(1);
    expect(result.usages[0]?.inputTokens).toBe(500);
    expect(result.usages[0]?.outputTokens).toBe(4);
    expect(result.usages[0]?.cachedInputTokens).toBe(0);
  });

  it('puts usage before finish', async () => {
    const result = await collectStream(create(fake).streamChat(buildCall()));
    const types = result.events.map((event) => event.type);

    expect(types.slice(-2)).toEqual(['usage', 'finish']);
  });

  it('raises 429 with Retry-After seconds', async () => {
    fake.enqueue({ type: 'status', status: 429, retryAfter: 7 });
    const result = await collectStream(create(fake).streamChat(buildCall()));

    expect(isProviderError(result.error)).toBe(true);
    const error = result.error as ProviderError;
    expect(error.status).toBe(429);
    expect(error.retryAfterSeconds).toBe(7);
    expect(error.retryable).toBe(true);
    expect(error.timedOut).toBe(false);
    expect(error.message).toContain('429');
    expect(result.events).toEqual([]);
  });

  it('raises 429 with a Retry-After date', async () => {
    const inTwoMinutes = new Date(Date.now() + 120_000).toUTCString();
    fake.enqueue({ type: 'status', status: 429, retryAfter: inTwoMinutes });
    const result = await collectStream(create(fake).streamChat(buildCall()));
    const error = result.error as { retryAfterSeconds?: number };

    expect(error.retryAfterSeconds).toBeGreaterThan(100);
    expect(error.retryAfterSeconds).toBeLessThanOrEqual(120);
  });

  it('raises 500 as retryable', async () => {
    fake.enqueue({ type: 'status', status: 500 });
    const result = await collectStream(create(fake).streamChat(buildCall()));
    const error = result.error as { status?: number; retryable?: boolean };

    expect(isProviderError(result.error)).toBe(true);
    expect(error.status).toBe(500);
    expect(error.retryable).toBe(true);
  });

  it('raises 400 as not retryable', async () => {
    fake.enqueue({ type: 'status', status: 400 });
    const result = await collectStream(create(fake).streamChat(buildCall()));
    const error = result.error as { status?: number; retryable?: boolean };

    expect(error.status).toBe(400);
    expect(error.retryable).toBe(false);
  });

  it('keeps the provider error text', async () => {
    fake.enqueue({ type: 'status', status: 503 });
    const result = await collectStream(create(fake).streamChat(buildCall()));

    expect((result.error as Error).message).toContain(
      'Fake provider error with status 503.',
    );
  });

  it('raises on a malformed event', async () => {
    fake.enqueue({ type: 'malformed-event', afterDeltas: 2 });
    const result = await collectStream(create(fake).streamChat(buildCall()));

    expect(isProviderError(result.error)).toBe(true);
    expect((result.error as Error).message).toMatch(/JSON/);
    expect(result.deltas).toHaveLength(2);
    expect(result.finishReason).toBeUndefined();
  });

  it('raises when the connection drops', async () => {
    fake.enqueue({ type: 'drop-mid-stream', afterDeltas: 3 });
    const result = await collectStream(create(fake).streamChat(buildCall()));

    expect(isProviderError(result.error)).toBe(true);
    expect((result.error as Error).message).toMatch(/stream broke/);
    expect((result.error as { retryable?: boolean }).retryable).toBe(true);
    expect(result.deltas).toHaveLength(3);
    expect(result.finishReason).toBeUndefined();
  });

  it('raises when the stream ends unfinished', async () => {
    fake.enqueue({ type: 'end-without-finish', afterDeltas: 2 });
    const result = await collectStream(create(fake).streamChat(buildCall()));

    expect(isProviderError(result.error)).toBe(true);
    expect((result.error as Error).message).toMatch(/ended without/);
    expect(result.deltas).toHaveLength(2);
    expect(result.usages).toEqual([]);
    expect(result.finishReason).toBeUndefined();
  });

  it('raises on an error event', async () => {
    fake.enqueue({
      type: 'error-event',
      afterDeltas: 1,
      errorType: format === 'gemini' ? 'UNAVAILABLE' : 'overloaded_error',
      message: 'Overloaded, try later.',
    });
    const result = await collectStream(create(fake).streamChat(buildCall()));
    const error = result.error as { retryable?: boolean; message: string };

    expect(isProviderError(result.error)).toBe(true);
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('Overloaded, try later.');
    expect(result.deltas).toHaveLength(1);
  });

  it('reads a stream cut at awkward bytes', async () => {
    fake.enqueue({ type: 'split' });
    const result = await collectStream(create(fake).streamChat(buildCall()));

    expect(result.error).toBeUndefined();
    expect(result.text).toBe('Split answer: café, 🙂 and 中文 arrive whole.');
    expect(result.finishReason).toBe('stop');
  });

  it('reads a stream with CR line endings', async () => {
    fake.enqueue({ type: 'split', lineEnding: '\r', text: 'a 🙂 b' });
    const result = await collectStream(create(fake).streamChat(buildCall()));

    expect(result.error).toBeUndefined();
    expect(result.text).toBe('a 🙂 b');
  });

  it('raises when the server is unreachable', async () => {
    const url = await findClosedPortUrl();
    const adapter = create({
      ...fake,
      anthropicBaseUrl: `${url}/anthropic`,
      geminiBaseUrl: `${url}/gemini`,
      openaiBaseUrl: `${url}/openai/v1`,
    });
    const result = await collectStream(adapter.streamChat(buildCall()));
    const error = result.error as { retryable?: boolean; message: string };

    expect(isProviderError(result.error)).toBe(true);
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('Could not reach');
  });

  it('passes the abort through unchanged', async () => {
    fake.enqueue({ type: 'stall', afterDeltas: 1, ms: 10_000 });
    const controller = new AbortController();
    const stream = create(fake).streamChat(
      buildCall({ signal: controller.signal }),
    );
    const deltas: string[] = [];
    let caught: unknown;
    try {
      for await (const event of stream) {
        if (event.type === 'text-delta') {
          deltas.push(event.text);
          controller.abort(new Error('client left'));
        }
      }
    } catch (error) {
      caught = error;
    }

    expect(deltas).toHaveLength(1);
    expect(caught).toBeInstanceOf(Error);
    expect(isProviderError(caught)).toBe(false);
    expect(controller.signal.aborted).toBe(true);
  });
});
