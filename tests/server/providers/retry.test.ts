import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAnthropicAdapter } from '../../../server/providers/anthropic';
import { createGeminiAdapter } from '../../../server/providers/gemini';
import {
  computeRetryDelay,
  DEFAULT_RETRY_POLICY,
  streamWithRetry,
  type RetryStreamOptions,
} from '../../../server/providers/retry';
import { systemClock, type Clock } from '../../../server/providers/timeouts';
import {
  isProviderError,
  ProviderError,
  type ProviderError as ProviderErrorType,
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

/** A clock whose sleeps return at once and are recorded, in milliseconds. */
function createRecordingClock(): { clock: Clock; sleeps: number[] } {
  const sleeps: number[] = [];
  return {
    sleeps,
    clock: {
      now: systemClock.now,
      setTimer: systemClock.setTimer,
      async sleep(ms, signal) {
        signal.throwIfAborted();
        sleeps.push(ms);
      },
    },
  };
}

function primaryTarget() {
  return {
    adapter: createAnthropicAdapter({
      apiKey: 'key',
      baseUrl: fake.anthropicBaseUrl,
    }),
    model: 'claude-primary',
  };
}

function fallbackTarget() {
  return {
    adapter: createGeminiAdapter({
      apiKey: 'key',
      baseUrl: fake.geminiBaseUrl,
    }),
    model: 'gemini-fallback',
  };
}

function buildOptions(
  clock: Clock,
  overrides: Partial<RetryStreamOptions> = {},
): RetryStreamOptions {
  const { model: _model, ...call } = buildCall();
  return {
    primary: primaryTarget(),
    call,
    clock,
    random: () => 0.5,
    ...overrides,
  };
}

describe('streamWithRetry', () => {
  it('answers on the first attempt', async () => {
    const { clock, sleeps } = createRecordingClock();
    const stream = streamWithRetry(buildOptions(clock));
    const result = await collectStream(stream);

    expect(result.error).toBeUndefined();
    expect(result.text).toBe(describeDefaultAnswer(QUESTION));
    expect(stream.answeredBy?.attempt).toBe(1);
    expect(stream.answeredBy?.fallback).toBe(false);
    expect(stream.answeredBy?.model).toBe('claude-primary');
    expect(stream.attempts).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('retries after 429 honouring Retry-After', async () => {
    const { clock, sleeps } = createRecordingClock();
    fake.enqueue({ type: 'status', status: 429, retryAfter: 3 });
    const stream = streamWithRetry(buildOptions(clock));
    const result = await collectStream(stream);

    expect(result.error).toBeUndefined();
    expect(result.text).toBe(describeDefaultAnswer(QUESTION));
    expect(sleeps).toEqual([3000]);
    expect(fake.requests).toHaveLength(2);
    expect(stream.attempts).toHaveLength(2);
    expect(stream.attempts[0]?.error?.status).toBe(429);
    expect(stream.attempts[0]?.delayMs).toBe(3000);
    expect(stream.answeredBy?.attempt).toBe(2);
    expect(stream.answeredBy?.error).toBeUndefined();
  });

  it('honours a Retry-After date', async () => {
    const { clock, sleeps } = createRecordingClock();
    const inTenSeconds = new Date(Date.now() + 10_000).toUTCString();
    fake.enqueue({ type: 'status', status: 503, retryAfter: inTenSeconds });
    const result = await collectStream(streamWithRetry(buildOptions(clock)));

    expect(result.error).toBeUndefined();
    expect(sleeps).toHaveLength(1);
    expect(sleeps[0]).toBeGreaterThan(5000);
    expect(sleeps[0]).toBeLessThanOrEqual(10_000);
  });

  it('backs off exponentially with jitter', async () => {
    const { clock, sleeps } = createRecordingClock();
    fake.enqueue(
      { type: 'status', status: 500 },
      { type: 'status', status: 502 },
      { type: 'status', status: 503 },
    );
    const options = buildOptions(clock, {
      policy: { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 10_000 },
      random: () => 0.5,
    });
    const stream = streamWithRetry(options);
    const result = await collectStream(stream);

    expect(result.error).toBeUndefined();
    expect(sleeps).toEqual([50, 100, 200]);
    expect(stream.answeredBy?.attempt).toBe(4);
  });

  it('stops after the maximum attempts', async () => {
    const { clock, sleeps } = createRecordingClock();
    fake.enqueue(
      ...Array.from({ length: 5 }, () => ({
        type: 'status' as const,
        status: 500,
      })),
    );
    const options = buildOptions(clock, { policy: { maxAttempts: 3 } });
    const stream = streamWithRetry(options);
    const result = await collectStream(stream);
    const error = result.error as ProviderErrorType;

    expect(isProviderError(error)).toBe(true);
    expect(error.message).toContain('anthropic:claude-primary (3 attempts)');
    expect(error.message).toContain('HTTP 500');
    expect(error.status).toBe(500);
    expect(error.cause).toBe(stream.attempts[2]?.error);
    expect(fake.requests).toHaveLength(3);
    expect(fake.pendingSteps).toBe(2);
    expect(sleeps).toHaveLength(2);
    expect(stream.answeredBy).toBeUndefined();
    expect(result.events).toEqual([]);
  });

  it('does not retry after the first delta', async () => {
    const { clock, sleeps } = createRecordingClock();
    fake.enqueue({ type: 'drop-mid-stream', afterDeltas: 2 });
    const stream = streamWithRetry(
      buildOptions(clock, { fallback: fallbackTarget() }),
    );
    const result = await collectStream(stream);

    expect(isProviderError(result.error)).toBe(true);
    expect((result.error as Error).message).toMatch(/stream broke/);
    expect(result.deltas).toHaveLength(2);
    expect(fake.requests).toHaveLength(1);
    expect(sleeps).toEqual([]);
    expect(stream.answeredBy?.attempt).toBe(1);
  });

  it('does not retry an unfinished stream', async () => {
    const { clock } = createRecordingClock();
    fake.enqueue({ type: 'end-without-finish', afterDeltas: 3 });
    const stream = streamWithRetry(buildOptions(clock));
    const result = await collectStream(stream);

    expect((result.error as Error).message).toMatch(/ended without/);
    expect(result.deltas).toHaveLength(3);
    expect(fake.requests).toHaveLength(1);
  });

  it('falls back after the attempts are spent', async () => {
    const { clock } = createRecordingClock();
    fake.enqueue(
      { type: 'status', status: 529 },
      { type: 'status', status: 529 },
    );
    const stream = streamWithRetry(
      buildOptions(clock, {
        policy: { maxAttempts: 2 },
        fallback: fallbackTarget(),
      }),
    );
    const result = await collectStream(stream);

    expect(result.error).toBeUndefined();
    expect(result.text).toBe(describeDefaultAnswer(QUESTION));
    expect(fake.requests.map((request) => request.format)).toEqual([
      'anthropic',
      'anthropic',
      'gemini',
    ]);
    expect(fake.requests[2]?.model).toBe('gemini-fallback');
    expect(stream.answeredBy?.attempt).toBe(3);
    expect(stream.answeredBy?.attemptOnModel).toBe(1);
    expect(stream.answeredBy?.fallback).toBe(true);
    expect(stream.answeredBy?.provider).toBe('gemini');
    expect(stream.answeredBy?.model).toBe('gemini-fallback');
  });

  it('falls back at once on a non-retryable error', async () => {
    const { clock, sleeps } = createRecordingClock();
    fake.enqueue({ type: 'status', status: 401 });
    const stream = streamWithRetry(
      buildOptions(clock, { fallback: fallbackTarget() }),
    );
    const result = await collectStream(stream);

    expect(result.error).toBeUndefined();
    expect(sleeps).toEqual([]);
    expect(fake.requests).toHaveLength(2);
    expect(stream.attempts[0]?.error?.retryable).toBe(false);
    expect(stream.answeredBy?.fallback).toBe(true);
  });

  it('falls back when Retry-After exceeds the cap', async () => {
    const { clock, sleeps } = createRecordingClock();
    fake.enqueue({ type: 'status', status: 429, retryAfter: 120 });
    const stream = streamWithRetry(
      buildOptions(clock, {
        policy: { maxDelayMs: 30_000 },
        fallback: fallbackTarget(),
      }),
    );
    const result = await collectStream(stream);

    expect(result.error).toBeUndefined();
    expect(sleeps).toEqual([]);
    expect(stream.answeredBy?.fallback).toBe(true);
  });

  it('reports both models when all fail', async () => {
    const { clock } = createRecordingClock();
    fake.enqueue(
      { type: 'status', status: 500 },
      { type: 'status', status: 429, retryAfter: 9 },
    );
    const stream = streamWithRetry(
      buildOptions(clock, {
        policy: { maxAttempts: 1 },
        fallback: fallbackTarget(),
      }),
    );
    const result = await collectStream(stream);
    const error = result.error as ProviderErrorType;

    expect(error.message).toContain('anthropic:claude-primary (1 attempt)');
    expect(error.message).toContain('gemini:gemini-fallback (1 attempt)');
    expect(error.provider).toBe('gemini');
    expect(error.status).toBe(429);
    expect(error.retryAfterSeconds).toBe(9);
    expect(stream.attempts.map((attempt) => attempt.fallback)).toEqual([
      false,
      true,
    ]);
  });

  it('charges only the attempt that answered', async () => {
    const { clock } = createRecordingClock();
    const usage = { inputTokens: 900, cachedInputTokens: 300, outputTokens: 7 };
    fake.enqueue(
      { type: 'status', status: 503 },
      { type: 'answer', text: 'Paris.', usage },
    );
    const stream = streamWithRetry(buildOptions(clock));
    const result = await collectStream(stream);

    expect(result.usages).toEqual([usage]);
    expect(stream.attempts.filter((attempt) => !attempt.error)).toEqual([
      stream.answeredBy,
    ]);
    expect(stream.answeredBy?.attempt).toBe(2);
  });

  it('stops waiting when the caller aborts', async () => {
    fake.enqueue({ type: 'status', status: 429, retryAfter: 5 });
    const controller = new AbortController();
    const reason = new Error('client disconnected');
    const warnings: Array<Record<string, unknown>> = [];
    const { model: _model, ...call } = buildCall({
      signal: controller.signal,
    });
    const stream = streamWithRetry({
      primary: primaryTarget(),
      call,
      clock: systemClock,
      logger: {
        warn: ((fields: Record<string, unknown>) => {
          warnings.push(fields);
          // The retry is about to wait 5 s on the real clock.
          controller.abort(reason);
        }) as never,
      },
    });
    const result = await collectStream(stream);

    expect(result.error).toBe(reason);
    expect(fake.requests).toHaveLength(1);
    expect(warnings).toHaveLength(1);
  });

  it('logs each retry without the question', async () => {
    const { clock } = createRecordingClock();
    fake.enqueue({ type: 'status', status: 500 });
    const lines: Array<{ fields: Record<string, unknown>; message: string }> =
      [];
    const stream = streamWithRetry(
      buildOptions(clock, {
        logger: {
          warn: ((fields: Record<string, unknown>, message: string) => {
            lines.push({ fields, message });
          }) as never,
        },
      }),
    );
    await collectStream(stream);

    expect(lines).toHaveLength(1);
    expect(lines[0]?.message).toMatch(/retrying/);
    expect(lines[0]?.fields.provider).toBe('anthropic');
    expect(lines[0]?.fields.model).toBe('claude-primary');
    expect(lines[0]?.fields.status).toBe(500);
    expect(lines[0]?.fields.delayMs).toBe(250);
    expect(JSON.stringify(lines[0]?.fields)).not.toContain(QUESTION);
  });
});

describe('computeRetryDelay', () => {
  const policy = { maxAttempts: 5, baseDelayMs: 1000, maxDelayMs: 8000 };
  const retryable = new ProviderError({
    provider: 'openai',
    message: 'HTTP 500',
    status: 500,
    retryable: true,
  });

  it.each([
    [1, 0.5, 500],
    [2, 0.5, 1000],
    [3, 0.5, 2000],
    [4, 0.5, 4000],
    [1, 0, 0],
    [3, 0.999, 3996],
  ])('waits after attempt %i with random %f: %i ms', (attempt, random, ms) => {
    const delay = computeRetryDelay({
      attemptOnModel: attempt,
      error: retryable,
      policy,
      random: () => random,
    });

    expect(delay).toBe(ms);
  });

  it('caps the back-off at maxDelayMs', () => {
    const delay = computeRetryDelay({
      attemptOnModel: 9,
      error: retryable,
      policy: { ...policy, maxAttempts: 20 },
      random: () => 0.999,
    });

    expect(delay).toBe(7992);
  });

  it('stops when the attempts are spent', () => {
    const delay = computeRetryDelay({
      attemptOnModel: 5,
      error: retryable,
      policy,
      random: () => 0.5,
    });

    expect(delay).toBeUndefined();
  });

  it('stops on a non-retryable error', () => {
    const error = new ProviderError({
      provider: 'openai',
      message: 'HTTP 400',
      status: 400,
      retryable: false,
    });
    const delay = computeRetryDelay({
      attemptOnModel: 1,
      error,
      policy,
      random: () => 0.5,
    });

    expect(delay).toBeUndefined();
  });

  it.each([
    [0, 0],
    [2, 2000],
    [1.5, 1500],
    [8, 8000],
    [8.5, undefined],
    [60, undefined],
  ])('waits Retry-After %f s as %s ms', (seconds, expected) => {
    const error = new ProviderError({
      provider: 'anthropic',
      message: 'HTTP 429',
      status: 429,
      retryAfterSeconds: seconds,
      retryable: true,
    });
    const delay = computeRetryDelay({
      attemptOnModel: 1,
      error,
      policy,
      random: () => 0.5,
    });

    expect(delay).toBe(expected);
  });

  it('keeps the default policy bounded', () => {
    expect(DEFAULT_RETRY_POLICY.maxAttempts).toBeGreaterThanOrEqual(1);
    expect(DEFAULT_RETRY_POLICY.maxDelayMs).toBeGreaterThan(
      DEFAULT_RETRY_POLICY.baseDelayMs,
    );
  });
});
