/**
 * The retry layer around provider adapters. It retries a failed call only
 * before the answer has started (before its first text delta), honours
 * `Retry-After`, backs off exponentially with full jitter, stops after a
 * bounded number of attempts, then tries the fallback model of the same
 * tier, then throws one ProviderError that says what failed. The stream it
 * returns names the attempt that answered, so the caller charges that call
 * once and prices it with that model.
 */
import type { Logger } from 'pino';
import {
  DEFAULT_STREAM_TIMEOUTS,
  streamWithTimeouts,
  systemClock,
  type Clock,
  type StreamTimeouts,
} from './timeouts';
import {
  isProviderError,
  ProviderError,
  type ProviderAdapter,
  type ProviderCallOptions,
  type ProviderEvent,
} from './types';

/** A model and the adapter that serves it. */
export interface ModelTarget {
  adapter: ProviderAdapter;
  /** The provider's own model id, without the `provider:` prefix. */
  model: string;
}

/** How often and how long the retry layer retries one model. */
export interface RetryPolicy {
  /** Attempts per model, the first one included; at least 1. */
  maxAttempts: number;
  /** Back-off before the second attempt, before jitter, in milliseconds. */
  baseDelayMs: number;
  /**
   * Maximum wait between attempts, in milliseconds. A `Retry-After` longer
   * than this ends the attempts on that model instead of waiting.
   */
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 3,
  baseDelayMs: 500,
  maxDelayMs: 20_000,
};

/** One call to a provider and how it ended. */
export interface AttemptRecord {
  /** 1-based position among all attempts of this request. */
  attempt: number;
  /** 1-based position among the attempts on this model. */
  attemptOnModel: number;
  provider: ProviderAdapter['provider'];
  model: string;
  /** Whether this attempt used the fallback model. */
  fallback: boolean;
  /** The failure before the answer started; undefined for the attempt that answered. */
  error?: ProviderError;
  /** Wait before the next attempt, in milliseconds, when there was one. */
  delayMs?: number;
}

export interface RetryStreamOptions {
  primary: ModelTarget;
  /** Model of the same tier to try when the primary's attempts are spent. */
  fallback?: ModelTarget;
  /** The call, less the model, which each target sets. */
  call: Omit<ProviderCallOptions, 'model'>;
  policy?: Partial<RetryPolicy>;
  timeouts?: Partial<StreamTimeouts>;
  clock?: Clock;
  /** Uniform random numbers in [0, 1), for the jitter. */
  random?: () => number;
  logger?: Pick<Logger, 'warn'>;
}

/** The answer's events, with the record of the attempts behind them. */
export interface RetryStream extends AsyncIterable<ProviderEvent> {
  /**
   * The attempt whose events the stream delivers, set when its first text
   * delta (or finish) arrives. Charge this call only, at this model's price.
   */
  readonly answeredBy: AttemptRecord | undefined;
  /** Every attempt so far, oldest first; the failed ones carry their error. */
  readonly attempts: readonly AttemptRecord[];
}

/**
 * Streams one answer with retries, timeouts and the fallback model.
 * Throws ProviderError when every attempt failed before answering, and
 * passes an error after the answer started through unchanged (no retry,
 * because the user has already seen part of the answer). An abort of
 * `call.signal` ends the stream with the abort's reason.
 */
export function streamWithRetry(options: RetryStreamOptions): RetryStream {
  const attempts: AttemptRecord[] = [];
  let answeredBy: AttemptRecord | undefined;

  async function* run(): AsyncGenerator<ProviderEvent> {
    const policy = { ...DEFAULT_RETRY_POLICY, ...options.policy };
    const timeouts = { ...DEFAULT_STREAM_TIMEOUTS, ...options.timeouts };
    const clock = options.clock ?? systemClock;
    const random = options.random ?? Math.random;
    const targets = options.fallback
      ? [options.primary, options.fallback]
      : [options.primary];

    for (const [targetIndex, target] of targets.entries()) {
      for (let attemptOnModel = 1; ; attemptOnModel++) {
        const record: AttemptRecord = {
          attempt: attempts.length + 1,
          attemptOnModel,
          provider: target.adapter.provider,
          model: target.model,
          fallback: targetIndex > 0,
        };
        attempts.push(record);

        const events = streamWithTimeouts({
          adapter: target.adapter,
          call: { ...options.call, model: target.model },
          timeouts,
          clock,
        });
        // Events before the answer starts (a usage report) are held back,
        // so a failed attempt leaves nothing in the stream.
        const heldBack: ProviderEvent[] = [];
        try {
          for await (const event of events) {
            if (answeredBy) {
              yield event;
              continue;
            }
            heldBack.push(event);
            if (event.type === 'text-delta' || event.type === 'finish') {
              answeredBy = record;
              yield* heldBack;
            }
          }
          if (!answeredBy) {
            throw new ProviderError({
              provider: target.adapter.provider,
              message: `${target.adapter.provider} model ${target.model} ended the stream without any event.`,
              retryable: true,
            });
          }
          return;
        } catch (error) {
          if (answeredBy || options.call.signal.aborted) {
            throw error;
          }
          record.error = toProviderError(target, error);
        }

        const delayMs = computeRetryDelay({
          attemptOnModel,
          error: record.error,
          policy,
          random,
        });
        if (delayMs === undefined) {
          options.logger?.warn(
            logFields(record),
            'Provider call failed before answering; no retry on this model.',
          );
          break;
        }
        record.delayMs = delayMs;
        options.logger?.warn(
          logFields(record),
          'Provider call failed before answering; retrying.',
        );
        await clock.sleep(delayMs, options.call.signal);
      }
    }

    throw createExhaustedError(attempts);
  }

  const stream = run();
  return {
    [Symbol.asyncIterator]: () => stream,
    get answeredBy() {
      return answeredBy;
    },
    attempts,
  };
}

export interface RetryDelayInput {
  /** The attempt that just failed, 1-based, on this model. */
  attemptOnModel: number;
  error: ProviderError;
  policy: RetryPolicy;
  /** Uniform random numbers in [0, 1). */
  random: () => number;
}

/**
 * Computes the wait before the next attempt on the same model, in
 * milliseconds, or returns undefined when no attempt should follow: the
 * error is not retryable, the attempts are spent, or `Retry-After` requests
 * a longer wait than `policy.maxDelayMs`. A `Retry-After` within the cap is
 * waited exactly. Otherwise the wait is full jitter: uniform between 0 and
 * `baseDelayMs * 2^(attempt - 1)`, capped at `maxDelayMs`.
 */
export function computeRetryDelay(input: RetryDelayInput): number | undefined {
  const { attemptOnModel, error, policy } = input;
  if (!error.retryable || attemptOnModel >= policy.maxAttempts) {
    return undefined;
  }

  if (error.retryAfterSeconds !== undefined) {
    const requested = Math.ceil(error.retryAfterSeconds * 1000);
    return requested <= policy.maxDelayMs ? requested : undefined;
  }

  const ceiling = Math.min(
    policy.maxDelayMs,
    policy.baseDelayMs * 2 ** (attemptOnModel - 1),
  );
  return Math.floor(input.random() * ceiling);
}

function toProviderError(target: ModelTarget, error: unknown): ProviderError {
  if (isProviderError(error)) {
    return error;
  }
  // Anything else is a fault in the adapter, which another attempt on the
  // same model would repeat, but the fallback may avoid.
  return new ProviderError({
    provider: target.adapter.provider,
    message: `${target.adapter.provider} adapter failed: ${error instanceof Error ? error.message : String(error)}`,
    retryable: false,
    cause: error,
  });
}

function createExhaustedError(attempts: AttemptRecord[]): ProviderError {
  const last = attempts.at(-1);
  const lastError = last?.error;
  const modelOf = (attempt: AttemptRecord) =>
    `${attempt.provider}:${attempt.model}`;
  const models = [...new Set(attempts.map(modelOf))];
  const summary = models
    .map((model) => {
      const count = attempts.filter(
        (attempt) => modelOf(attempt) === model,
      ).length;
      return `${model} (${count} ${count === 1 ? 'attempt' : 'attempts'})`;
    })
    .join(' and ');

  return new ProviderError({
    provider: last?.provider ?? 'demo',
    message: `Every provider attempt failed before answering: ${summary}. Last error: ${lastError?.message ?? 'unknown'}`,
    status: lastError?.status,
    retryAfterSeconds: lastError?.retryAfterSeconds,
    retryable: lastError?.retryable ?? false,
    timedOut: lastError?.timedOut ?? false,
    cause: lastError,
  });
}

function logFields(record: AttemptRecord): Record<string, unknown> {
  return {
    provider: record.provider,
    model: record.model,
    attempt: record.attempt,
    fallback: record.fallback,
    status: record.error?.status,
    timedOut: record.error?.timedOut,
    retryAfterSeconds: record.error?.retryAfterSeconds,
    delayMs: record.delayMs,
    err: record.error,
  };
}
