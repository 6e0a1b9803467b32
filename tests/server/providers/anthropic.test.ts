import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ANTHROPIC_VERSION,
  createAnthropicAdapter,
} from '../../../server/providers/anthropic';
import { isProviderError } from '../../../server/providers/types';
import { startFakeProvider, type FakeProvider } from '../../fake-provider';
import { buildCall, collectStream, QUESTION, SYSTEM_PROMPT } from './helpers';

let fake: FakeProvider;

beforeEach(async () => {
  fake = await startFakeProvider();
});

afterEach(async () => {
  await fake.close();
});

function createAdapter(baseUrl = fake.anthropicBaseUrl) {
  return createAnthropicAdapter({ apiKey: 'secret-key', baseUrl });
}

describe('anthropic request', () => {
  it('posts to /v1/messages with its headers', async () => {
    await collectStream(createAdapter().streamChat(buildCall()));
    const request = fake.requests[0];

    expect(request?.path).toBe('/anthropic/v1/messages');
    expect(request?.headers['x-api-key']).toBe('secret-key');
    expect(request?.headers['anthropic-version']).toBe(ANTHROPIC_VERSION);
    expect(ANTHROPIC_VERSION).toBe('2023-06-01');
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.headers.authorization).toBeUndefined();
  });

  it('sends the system prompt as a cached block', async () => {
    await collectStream(createAdapter().streamChat(buildCall()));
    const body = fake.requests[0]?.body as Record<string, unknown>;

    expect(body.system).toEqual([
      {
        type: 'text',
        text: SYSTEM_PROMPT,
        cache_control: { type: 'ephemeral' },
      },
    ]);
    expect(Object.keys(body)).toContain('system');
  });

  it('sends model, cap, stream and turns', async () => {
    const call = buildCall({
      model: 'claude-haiku-4-5',
      maxOutputTokens: 321,
      messages: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello!' },
        { role: 'user', content: QUESTION },
      ],
    });
    await collectStream(createAdapter().streamChat(call));
    const body = fake.requests[0]?.body as Record<string, unknown>;

    expect(body.model).toBe('claude-haiku-4-5');
    expect(body.max_tokens).toBe(321);
    expect(body.stream).toBe(true);
    expect(body.messages).toEqual([
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello!' },
      { role: 'user', content: QUESTION },
    ]);
  });

  it('leaves out turns with empty content', async () => {
    const call = buildCall({
      messages: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: '' },
        { role: 'user', content: QUESTION },
      ],
    });
    await collectStream(createAdapter().streamChat(call));
    const body = fake.requests[0]?.body as { messages: unknown[] };

    expect(body.messages).toHaveLength(2);
  });

  it.each(['', '/', '/v1', '/v1/'])(
    'accepts the base URL with suffix "%s"',
    async (suffix) => {
      const adapter = createAdapter(`${fake.anthropicBaseUrl}${suffix}`);
      const result = await collectStream(adapter.streamChat(buildCall()));

      expect(result.error).toBeUndefined();
      expect(fake.requests[0]?.path).toBe('/anthropic/v1/messages');
    },
  );
});

describe('anthropic usage', () => {
  it('sums uncached, cache-read and cache-write input', async () => {
    fake.enqueue({
      type: 'answer',
      text: 'Paris.',
      usage: {
        inputTokens: 3000,
        cachedInputTokens: 2048,
        cacheCreationInputTokens: 900,
        outputTokens: 12,
      },
    });
    const result = await collectStream(createAdapter().streamChat(buildCall()));

    expect(result.usages).toEqual([
      { inputTokens: 3000, cachedInputTokens: 2048, outputTokens: 12 },
    ]);
  });
});

describe('anthropic errors', () => {
  it('names the error type and request id', async () => {
    fake.enqueue({
      type: 'status',
      status: 529,
      headers: { 'request-id': 'req_123' },
    });
    const result = await collectStream(createAdapter().streamChat(buildCall()));
    const error = result.error as Error & { retryable: boolean };

    expect(isProviderError(error)).toBe(true);
    expect(error.message).toContain('overloaded_error');
    expect(error.message).toContain('req_123');
    expect(error.retryable).toBe(true);
  });

  it('follows x-should-retry false', async () => {
    fake.enqueue({
      type: 'status',
      status: 500,
      headers: { 'x-should-retry': 'false' },
    });
    const result = await collectStream(createAdapter().streamChat(buildCall()));

    expect((result.error as { retryable: boolean }).retryable).toBe(false);
  });

  it('follows x-should-retry true', async () => {
    fake.enqueue({
      type: 'status',
      status: 400,
      headers: { 'x-should-retry': 'true' },
    });
    const result = await collectStream(createAdapter().streamChat(buildCall()));

    expect((result.error as { retryable: boolean }).retryable).toBe(true);
  });

  it('treats an invalid_request error event as final', async () => {
    fake.enqueue({
      type: 'error-event',
      afterDeltas: 0,
      errorType: 'invalid_request_error',
    });
    const result = await collectStream(createAdapter().streamChat(buildCall()));

    expect((result.error as { retryable: boolean }).retryable).toBe(false);
    expect((result.error as Error).message).toContain('invalid_request_error');
  });
});
