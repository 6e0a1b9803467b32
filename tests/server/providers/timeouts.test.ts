/**
 * The connect, first-token and idle timeouts, against the fake provider.
 * Each fault lasts 10 s and each timeout is far shorter, so a test passes
 * only when the timeout fired; no test asserts a duration.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAnthropicAdapter } from '../../../server/providers/anthropic';
import { createGeminiAdapter } from '../../../server/providers/gemini';
import { createOpenAiCompatibleAdapter } from '../../../server/providers/openai-compatible';
import { streamWithRetry } from '../../../server/providers/retry';
import {
  streamWithTimeouts,
  type StreamTimeouts,
} from '../../../server/providers/timeouts';
import {
  isProviderError,
  type ProviderAdapter,
  type ProviderError,
} from '../../../server/providers/types';
import {
  describeDefaultAnswer,
  startFakeProvider,
  type FakeProvider,
} from '../../fake-provider';
import { buildCall, collectStream, QUESTION } from './helpers';

let fake: FakeProvider;

beforeEach(async () => {
  fake = await startFakeProvider();
});

afterEach(async () => {
  await fake.close();
});

const LONG_FAULT_MS = 10_000;

function anthropic(): ProviderAdapter {
  return createAnthropicAdapter({
    apiKey: 'key',
    baseUrl: fake.anthropicBaseUrl,
  });
}

function timeouts(overrides: Partial<StreamTimeouts>): StreamTimeouts {
  return { connectMs: 0, firstTokenMs: 0, idleMs: 0, ...overrides };
}

function runWithTimeouts(
  adapter: ProviderAdapter,
  overrides: Partial<StreamTimeouts>,
) {
  return collectStream(
    streamWithTimeouts({
      adapter,
      call: buildCall(),
      timeouts: timeouts(overrides),
    }),
  );
}

function expectTimeout(error: unknown, phase: string): void {
  expect(isProviderError(error)).toBe(true);
  const providerError = error as ProviderError;
  expect(providerError.timedOut).toBe(true);
  expect(providerError.retryable).toBe(true);
  expect(providerError.message).toContain(`${phase} timeout`);
}

describe('streamWithTimeouts', () => {
  it('passes a normal answer through', async () => {
    const result = await runWithTimeouts(anthropic(), {
      connectMs: 5000,
      firstTokenMs: 5000,
      idleMs: 5000,
    });

    expect(result.error).toBeUndefined();
    expect(result.text).toBe(describeDefaultAnswer(QUESTION));
    expect(result.finishReason).toBe('stop');
  });

  it('times out waiting for headers', async () => {
    fake.enqueue({ type: 'slow-first-byte', delayMs: LONG_FAULT_MS });
    const result = await runWithTimeouts(anthropic(), { connectMs: 200 });

    expectTimeout(result.error, 'connect');
    expect(result.events).toEqual([]);
  });

  it('ends the connect timeout at the headers', async () => {
    // Headers come at once and the body after 1.5 s, past the connect
    // timeout but within the first-token timeout.
    fake.enqueue({ type: 'slow-first-byte', delayMs: 1500, stage: 'body' });
    const result = await runWithTimeouts(anthropic(), {
      connectMs: 1000,
      firstTokenMs: LONG_FAULT_MS,
    });

    expect(result.error).toBeUndefined();
    expect(result.text).toBe(describeDefaultAnswer(QUESTION));
  });

  it('times out waiting for the first token', async () => {
    fake.enqueue({
      type: 'slow-first-byte',
      delayMs: LONG_FAULT_MS,
      stage: 'body',
    });
    const result = await runWithTimeouts(anthropic(), {
      connectMs: 5000,
      firstTokenMs: 200,
    });

    expectTimeout(result.error, 'first-token');
  });

  it('times out on a stall before any delta', async () => {
    // Anthropic's message_start arrives, then nothing: no token yet.
    fake.enqueue({ type: 'stall', afterDeltas: 0, ms: LONG_FAULT_MS });
    const result = await runWithTimeouts(anthropic(), {
      firstTokenMs: 200,
      idleMs: 5000,
    });

    expectTimeout(result.error, 'first-token');
  });

  it('times out on silence mid-stream', async () => {
    fake.enqueue({ type: 'stall', afterDeltas: 2, ms: LONG_FAULT_MS });
    const adapter = createGeminiAdapter({
      apiKey: 'key',
      baseUrl: fake.geminiBaseUrl,
    });
    const result = await runWithTimeouts(adapter, { idleMs: 200 });

    expectTimeout(result.error, 'idle');
    expect(result.deltas).toHaveLength(2);
  });

  it('does not count the consumer pause as idle', async () => {
    const stream = streamWithTimeouts({
      adapter: anthropic(),
      call: buildCall(),
      timeouts: timeouts({ idleMs: 300 }),
    });
    const deltas: string[] = [];
    for await (const event of stream) {
      if (event.type === 'text-delta') {
        deltas.push(event.text);
        await new Promise((resolve) => setTimeout(resolve, 400));
      }
      if (deltas.length === 2) {
        break;
      }
    }

    expect(deltas).toHaveLength(2);
  });

  it('applies the connect timeout without the hook', async () => {
    // The OpenAI-compatible adapter does not report its headers, so its
    // connect timeout runs until the first event.
    fake.enqueue({ type: 'slow-first-byte', delayMs: LONG_FAULT_MS });
    const adapter = createOpenAiCompatibleAdapter({
      provider: 'openai',
      apiKey: 'key',
      baseUrl: fake.openaiBaseUrl,
    });
    const result = await runWithTimeouts(adapter, { connectMs: 200 });

    expectTimeout(result.error, 'connect');
  });

  it('aborts the provider request on timeout', async () => {
    fake.enqueue({ type: 'stall', afterDeltas: 1, ms: LONG_FAULT_MS });
    fake.enqueue({ type: 'answer', text: 'Second.' });
    const first = await runWithTimeouts(anthropic(), { idleMs: 200 });
    const second = await runWithTimeouts(anthropic(), { idleMs: 5000 });

    expectTimeout(first.error, 'idle');
    expect(second.text).toBe('Second.');
  });
});

describe('timeouts with retries', () => {
  it('retries a timeout before the first token', async () => {
    fake.enqueue({ type: 'slow-first-byte', delayMs: LONG_FAULT_MS });
    const { model: _model, ...call } = buildCall();
    const stream = streamWithRetry({
      primary: { adapter: anthropic(), model: 'claude-test' },
      call,
      timeouts: { connectMs: 200 },
      random: () => 0,
    });
    const result = await collectStream(stream);

    expect(result.error).toBeUndefined();
    expect(result.text).toBe(describeDefaultAnswer(QUESTION));
    expect(stream.attempts[0]?.error?.timedOut).toBe(true);
    expect(stream.answeredBy?.attempt).toBe(2);
  });

  it('does not retry an idle timeout', async () => {
    fake.enqueue({ type: 'stall', afterDeltas: 1, ms: LONG_FAULT_MS });
    const { model: _model, ...call } = buildCall();
    const stream = streamWithRetry({
      primary: { adapter: anthropic(), model: 'claude-test' },
      call,
      timeouts: { idleMs: 200 },
      random: () => 0,
    });
    const result = await collectStream(stream);

    expectTimeout(result.error, 'idle');
    expect(result.deltas).toHaveLength(1);
    expect(fake.requests).toHaveLength(1);
    expect(stream.answeredBy?.attempt).toBe(1);
  });

  it('marks the final error as a timeout', async () => {
    fake.enqueue(
      { type: 'slow-first-byte', delayMs: LONG_FAULT_MS },
      { type: 'slow-first-byte', delayMs: LONG_FAULT_MS },
    );
    const { model: _model, ...call } = buildCall();
    const stream = streamWithRetry({
      primary: { adapter: anthropic(), model: 'claude-test' },
      call,
      policy: { maxAttempts: 2 },
      timeouts: { connectMs: 200 },
      random: () => 0,
    });
    const result = await collectStream(stream);

    expect((result.error as ProviderError).timedOut).toBe(true);
    expect((result.error as Error).message).toContain('2 attempts');
  });
});
