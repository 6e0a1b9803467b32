import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createOpenAiCompatibleAdapter,
  type MaxTokensParameter,
} from '../../../server/providers/openai-compatible';
import { startFakeProvider, type FakeProvider } from '../../fake-provider';
import { buildCall, collectStream, QUESTION, SYSTEM_PROMPT } from './helpers';

let fake: FakeProvider;

beforeEach(async () => {
  fake = await startFakeProvider();
});

afterEach(async () => {
  await fake.close();
});

function createAdapter(
  options: { baseUrl?: string; maxTokensParameter?: MaxTokensParameter } = {},
) {
  return createOpenAiCompatibleAdapter({
    provider: 'openai',
    apiKey: 'secret-key',
    baseUrl: options.baseUrl ?? fake.openaiBaseUrl,
    maxTokensParameter: options.maxTokensParameter,
  });
}

describe('openai-compatible request', () => {
  it('posts to /chat/completions with a bearer key', async () => {
    await collectStream(createAdapter().streamChat(buildCall()));
    const request = fake.requests[0];

    expect(request?.path).toBe('/openai/v1/chat/completions');
    expect(request?.headers.authorization).toBe('Bearer secret-key');
    expect(request?.headers['x-api-key']).toBeUndefined();
  });

  it('asks for streamed usage', async () => {
    await collectStream(createAdapter().streamChat(buildCall()));
    const body = fake.requests[0]?.body as Record<string, unknown>;

    expect(body.stream).toBe(true);
    expect(body.stream_options).toEqual({ include_usage: true });
  });

  it('sends the system prompt first', async () => {
    const call = buildCall({
      messages: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello!' },
        { role: 'user', content: QUESTION },
      ],
    });
    await collectStream(createAdapter().streamChat(call));
    const body = fake.requests[0]?.body as { messages: unknown[] };

    expect(body.messages).toEqual([
      { role: 'system', content: SYSTEM_PROMPT },
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello!' },
      { role: 'user', content: QUESTION },
    ]);
  });

  it.each([
    [undefined, 'max_completion_tokens'],
    ['max_completion_tokens', 'max_completion_tokens'],
    ['max_tokens', 'max_tokens'],
  ] as const)('sends the cap as %s', async (parameter, field) => {
    const adapter = createAdapter({ maxTokensParameter: parameter });
    await collectStream(adapter.streamChat(buildCall({ maxOutputTokens: 77 })));
    const body = fake.requests[0]?.body as Record<string, unknown>;

    expect(body[field]).toBe(77);
    const other =
      field === 'max_tokens' ? 'max_completion_tokens' : 'max_tokens';
    expect(body[other]).toBeUndefined();
  });

  it('accepts a base URL with a trailing slash', async () => {
    const adapter = createAdapter({ baseUrl: `${fake.openaiBaseUrl}/` });
    const result = await collectStream(adapter.streamChat(buildCall()));

    expect(result.error).toBeUndefined();
    expect(fake.requests[0]?.path).toBe('/openai/v1/chat/completions');
  });
});

describe('openai-compatible usage', () => {
  it('reads cached tokens and counts reasoning once', async () => {
    fake.enqueue({
      type: 'answer',
      text: 'Paris.',
      usage: {
        inputTokens: 2000,
        cachedInputTokens: 1536,
        outputTokens: 10,
        reasoningTokens: 90,
      },
    });
    const result = await collectStream(createAdapter().streamChat(buildCall()));

    // completion_tokens already includes the 90 reasoning tokens.
    expect(result.usages).toEqual([
      { inputTokens: 2000, cachedInputTokens: 1536, outputTokens: 100 },
    ]);
  });
});

describe('openai-compatible errors', () => {
  it('reads the error message from the body', async () => {
    fake.enqueue({
      type: 'status',
      status: 429,
      retryAfter: 2,
      body: { error: { message: 'Rate limit reached.', type: 'requests' } },
    });
    const result = await collectStream(createAdapter().streamChat(buildCall()));
    const error = result.error as Error & { retryAfterSeconds?: number };

    expect(error.message).toContain('Rate limit reached.');
    expect(error.retryAfterSeconds).toBe(2);
  });

  it('keeps a plain-text error body', async () => {
    fake.enqueue({ type: 'status', status: 502, body: 'Bad gateway' });
    const result = await collectStream(createAdapter().streamChat(buildCall()));

    expect((result.error as Error).message).toContain('Bad gateway');
  });
});
