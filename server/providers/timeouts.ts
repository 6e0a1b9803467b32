/**
 * Timeouts around one provider call: for connecting (until the response
 * headers arrive), for the first token (from the start of the call) and
 * for silence between events once the answer has started. A timeout aborts
 * the call and raises ProviderError with `timedOut` set.
 */
import {
  ProviderError,
  type ProviderAdapter,
  type ProviderCallOptions,
  type ProviderEvent,
} from './types';

/** Timeouts in milliseconds; 0 turns one off. */
export interface StreamTimeouts {
  /** From the start of the call until the response headers arrive. */
  connectMs: number;
  /** From the start of the call until the first text delta (or finish). */
  firstTokenMs: number;
  /**
   * Maximum wait for the provider's next event once text has started.
   * NOTE: only events the adapter yields count, so keep-alive pings and
   * hidden thinking deltas do not reset it.
   */
  idleMs: number;
}

/**
 * Default timeouts. The first-token default leaves room for reasoning
 * models, which can think for tens of seconds before the first token.
 */
export const DEFAULT_STREAM_TIMEOUTS: StreamTimeouts = {
  connectMs: 10_000,
  firstTokenMs: 60_000,
  idleMs: 30_000,
};

/** Time source of the retry and timeout layers, replaceable in tests. */
export interface Clock {
  /** Current time in milliseconds since the epoch. */
  now(): number;
  /** Calls `callback` after `ms` milliseconds; the returned function cancels it. */
  setTimer(callback: () => void, ms: number): () => void;
  /** Waits `ms` milliseconds; rejects with the signal's reason when it aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(callback, ms) {
    const timer = setTimeout(callback, ms);
    return () => clearTimeout(timer);
  },
  sleep(ms, signal) {
    return new Promise((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal.reason);
      };
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  },
};

/**
 * Tells the timeout layer, when it wraps this call, that the response
 * headers arrived. An adapter that never calls it has its connect timeout
 * end at its first event.
 */
export function notifyResponseStart(call: ProviderCallOptions): void {
  call.onResponseStart?.();
}

export interface TimedStreamOptions {
  adapter: ProviderAdapter;
  call: ProviderCallOptions;
  timeouts: StreamTimeouts;
  clock?: Clock;
}

type TimeoutPhase = 'connect' | 'first-token' | 'idle';

/**
 * Streams one call with connect, first-token and idle timeouts. Throws
 * ProviderError with `timedOut` and `retryable` set when one expires, after
 * aborting the adapter's call; other errors pass through unchanged.
 */
export async function* streamWithTimeouts(
  options: TimedStreamOptions,
): AsyncGenerator<ProviderEvent> {
  const { adapter, call, timeouts } = options;
  const clock = options.clock ?? systemClock;
  const controller = new AbortController();
  const forwardAbort = () => controller.abort(call.signal.reason);
  if (call.signal.aborted) {
    forwardAbort();
  }
  call.signal.addEventListener('abort', forwardAbort, { once: true });

  // One promise that rejects when any timer fires, raced against each read.
  let timeoutError: ProviderError | undefined;
  let rejectOnTimeout: (error: ProviderError) => void = () => undefined;
  const timedOut = new Promise<never>((_resolve, reject) => {
    rejectOnTimeout = reject;
  });
  timedOut.catch(() => undefined);
  const startTimer = (phase: TimeoutPhase, ms: number) => {
    if (ms <= 0) {
      return () => undefined;
    }
    return clock.setTimer(() => {
      if (timeoutError) {
        return;
      }
      timeoutError = createTimeoutError(adapter, call.model, phase, ms);
      controller.abort(timeoutError);
      rejectOnTimeout(timeoutError);
    }, ms);
  };

  const cancelConnect = startTimer('connect', timeouts.connectMs);
  const cancelFirstToken = startTimer('first-token', timeouts.firstTokenMs);
  let cancelIdle: () => void = () => undefined;
  let started = false;
  let done = false;
  const timedCall: ProviderCallOptions = {
    ...call,
    signal: controller.signal,
    onResponseStart: () => cancelConnect(),
  };
  const iterator = adapter.streamChat(timedCall)[Symbol.asyncIterator]();

  try {
    for (;;) {
      if (started) {
        cancelIdle = startTimer('idle', timeouts.idleMs);
      }
      const next = iterator.next();
      // After a timeout the adapter's pending read rejects with the abort,
      // and no caller awaits it any more.
      next.catch(() => undefined);
      let result: IteratorResult<ProviderEvent>;
      try {
        result = await Promise.race([next, timedOut]);
      } catch (error) {
        throw timeoutError ?? error;
      }
      cancelIdle();
      if (result.done) {
        done = true;
        return;
      }

      const event = result.value;
      cancelConnect();
      if (event.type === 'text-delta' || event.type === 'finish') {
        cancelFirstToken();
        started = true;
      }
      yield event;
    }
  } finally {
    cancelConnect();
    cancelFirstToken();
    cancelIdle();
    call.signal.removeEventListener('abort', forwardAbort);
    if (!done) {
      // Stops the adapter's request when the consumer left early or a
      // timeout fired; its own cleanup runs in the background.
      controller.abort(timeoutError);
      iterator.return?.(undefined).catch(() => undefined);
    }
  }
}

function createTimeoutError(
  adapter: ProviderAdapter,
  model: string,
  phase: TimeoutPhase,
  ms: number,
): ProviderError {
  const expectedStep = {
    connect: 'send response headers',
    'first-token': 'send the first token',
    idle: 'send the next event',
  }[phase];
  return new ProviderError({
    provider: adapter.provider,
    message: `${adapter.provider} model ${model} did not ${expectedStep} within the ${phase} timeout of ${ms} ms.`,
    retryable: true,
    timedOut: true,
  });
}
