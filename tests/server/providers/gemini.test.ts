import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createGeminiAdapter } from '../../../server/providers/gemini';
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

function createAdapter(baseUrl = fake.geminiBaseUrl) {
  return createGeminiAdapter({ apiKey: 'secret-key', baseUrl });
}

const STREAM_PATH =
  '/gemini/v1beta/models/gemini-3-flash:streamGenerateContent?alt=sse';

describe('gemini request', () => {
  it('posts to streamGenerateContent with alt=sse', async () => {
    const call = buildCall({ model: 'gemini-3-flash' });
    await collectStream(createAdapter().streamChat(call));
    const request = fake.requests[0];

    expect(request?.path).toBe(STREAM_PATH);
    expect(request?.headers['x-goog-api-key']).toBe('secret-key');
    expect(request?.headers.authorization).toBeUndefined();
    expect(request?.path).not.toContain('key=');
  });

  it('sends systemInstruction, roles and the cap', async () => {
    const call = buildCall({
      maxOutputTokens: 123,
      messages: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello!' },
        { role: 'user', content: QUESTION },
      ],
    });
    await collectStream(createAdapter().streamChat(call));
    const body = fake.requests[0]?.body;

    expect(body).toEqual({
      systemInstruction: { parts: [{ text: SYSTEM_PROMPT }] },
      contents: [
        { role: 'user', parts: [{ text: 'Hi' }] },
        { role: 'model', parts: [{ text: 'Hello!' }] },
        { role: 'user', parts: [{ text: QUESTION }] },
      ],
      generationConfig: { maxOutputTokens: 123 },
    });
  });

  it.each(['', '/', '/v1beta', '/v1beta/openai', '/v1beta/openai/'])(
    'accepts the base URL with suffix "%s"',
    async (suffix) => {
      const adapter = createAdapter(`${fake.geminiBaseUrl}${suffix}`);
      const call = buildCall({ model: 'gemini-3-flash' });
      const result = await collectStream(adapter.streamChat(call));

      expect(result.error).toBeUndefined();
      expect(fake.requests[0]?.path).toBe(STREAM_PATH);
    },
  );

  it('escapes the model id in the path', async () => {
    const call = buildCall({ model: 'model x' });
    await collectStream(createAdapter().streamChat(call));

    expect(fake.requests[0]?.path).toContain('/models/model%20x:');
    expect(fake.requests[0]?.model).toBe('model x');
  });

  it('accepts a model id with the models/ prefix', async () => {
    const call = buildCall({ model: 'models/gemini-3-flash' });
    await collectStream(createAdapter().streamChat(call));

    expect(fake.requests[0]?.path).toBe(STREAM_PATH);
  });
});

describe('gemini usage', () => {
  it('takes the last running total', async () => {
    fake.enqueue({
      type: 'answer',
      deltas: ['a', 'b', 'c', 'd', 'e'],
      usage: {
        inputTokens: 800,
        cachedInputTokens: 512,
        outputTokens: 50,
        reasoningTokens: 200,
      },
    });
    const result = await collectStream(createAdapter().streamChat(buildCall()));

    expect(result.usages).toEqual([
      { inputTokens: 800, cachedInputTokens: 512, outputTokens: 250 },
    ]);
  });
});

describe('gemini errors', () => {
  it('reads the RetryInfo delay', async () => {
    fake.enqueue({
      type: 'status',
      status: 429,
      body: {
        error: {
          code: 429,
          message: 'Quota exceeded.',
          status: 'RESOURCE_EXHAUSTED',
          details: [
            {
              '@type': 'type.googleapis.com/google.rpc.RetryInfo',
              retryDelay: '37s',
            },
          ],
        },
      },
    });
    const result = await collectStream(createAdapter().streamChat(buildCall()));
    const error = result.error as {
      retryAfterSeconds?: number;
      message: string;
    };

    expect(isProviderError(result.error)).toBe(true);
    expect(error.retryAfterSeconds).toBe(37);
    expect(error.message).toContain('RESOURCE_EXHAUSTED');
    expect(error.message).toContain('Quota exceeded.');
  });

  it('prefers the Retry-After header', async () => {
    fake.enqueue({ type: 'status', status: 503, retryAfter: 4 });
    const result = await collectStream(createAdapter().streamChat(buildCall()));

    expect(
      (result.error as { retryAfterSeconds?: number }).retryAfterSeconds,
    ).toBe(4);
  });

  it('reads an error wrapped in an array', async () => {
    fake.enqueue({
      type: 'status',
      status: 500,
      body: [{ error: { code: 500, message: 'Wrapped.', status: 'INTERNAL' } }],
    });
    const result = await collectStream(createAdapter().streamChat(buildCall()));

    expect((result.error as Error).message).toContain('Wrapped.');
  });
});
