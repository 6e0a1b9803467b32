/**
 * Streams one reserved answer as server-sent events (route, text-delta...,
 * usage, done, or error) and settles its reservation:
 *
 * - a finished answer settles to the provider's usage, or to the delivered
 *   output counted with the tokenizer (marked estimated) when none came;
 * - a provider failure before the first delta releases the reservation in
 *   full; after it, the delivered part is settled and an error follows;
 * - a client that goes away aborts the provider call, and the input plus
 *   the delivered output are settled, because the provider bills the
 *   prompt it received;
 * - a client that goes away while followers of its flight still listen
 *   leaves the call running for them, so the answer reaches them and is
 *   cached. The call stops when the last follower leaves. This request is
 *   still charged only the input plus the output delivered before its
 *   client left;
 * - a stop of the backend aborts the call like a failure.
 *
 * Provider calls go through the retry layer (server/providers/retry.ts):
 * retries and the tier's fallback model happen before the first delta,
 * and the answer is charged once, for the call that answered, at that
 * model's price. With the server answer cache on, a complete answer
 * (finish reason "stop") is stored before `done` is sent, and requests
 * following this one's flight receive its deltas as they arrive.
 *
 * The charge never exceeds the reservation: the store caps it.
 */
import {
  computeCostUsd,
  formatModelRef,
  UNKNOWN_PRICE,
} from '../../lib/catalog';
import type {
  AnswerUsage,
  ChatEvent,
  ChatEventName,
  RouteDecision,
} from '../../lib/protocol';
import { encodeSseEvent } from '../../lib/sse';
import { countTokens } from '../../lib/tokens';
import type { AnswerFlight } from '../cache/answer-flight';
import { ServerStoppingError } from '../http/active-streams';
import type { AppServices } from '../http/context';
import type { Prompt } from '../prompt';
import type { TierProvider } from '../providers/index';
import { streamWithRetry, type AttemptRecord } from '../providers/retry';
import type { ProviderUsage } from '../providers/types';
import type { Reservation, UsageCounts } from '../store/types';
import { describeFailure } from './describe-failure';

export interface StreamAnswerOptions {
  services: AppServices;
  requestId: string;
  installId: string;
  decision: RouteDecision;
  tierProvider: TierProvider;
  prompt: Prompt;
  reservation: Reservation;
  /** Aborts when the client closes the connection. */
  clientSignal: AbortSignal;
  /** performance.now() when the request arrived, for the log line. */
  startedAt: number;
  /**
   * The single flight this request leads, when the answer cache is on:
   * fed every delta, ended with the outcome, and its answer cached when
   * complete.
   */
  flight?: AnswerFlight;
}

/** The reason a provider call is aborted when the client goes away. */
class ClientClosedError extends Error {
  constructor() {
    super('The client closed the connection.');
    this.name = 'ClientClosedError';
  }
}

/** Output of the provider call up to the end or failure of its stream. */
interface ProviderOutcome {
  text: string;
  /** The part of `text` sent before this request's client left. */
  deliveredText: string;
  deltaCount: number;
  usage: ProviderUsage | undefined;
  finishReason: string | undefined;
  error: unknown;
  /** The attempt whose answer was delivered, when one started. */
  answeredBy: AttemptRecord | undefined;
  /** Number of provider calls made, retries and fallback included. */
  attemptCount: number;
}

type EventData<Name extends ChatEventName> = Extract<
  ChatEvent,
  { event: Name }
>['data'];

/**
 * Starts the provider call and returns the event-stream response at once.
 * The answer streams and settles in the background, tracked by
 * services.activeStreams until its reservation is closed.
 */
export function streamAnswer(options: StreamAnswerOptions): Response {
  const { services } = options;
  const encoder = new TextEncoder();
  const providerAbort = new AbortController();
  let streamController!: ReadableStreamDefaultController<Uint8Array>;
  let open = true;
  let clientGone = false;

  const onClientClosed = () => {
    if (clientGone) {
      return;
    }
    clientGone = true;
    open = false;
    const abort = () => providerAbort.abort(new ClientClosedError());
    const flight = options.flight;
    if (flight && !flight.ended && flight.followerCount > 0) {
      // The call goes on for the followers until the last one leaves.
      flight.onFollowersGone(abort);
      return;
    }
    abort();
  };
  const body = new ReadableStream<Uint8Array>({
    start: (controller) => {
      streamController = controller;
    },
    cancel: onClientClosed,
  });
  if (options.clientSignal.aborted) {
    onClientClosed();
  }
  options.clientSignal.addEventListener('abort', onClientClosed, {
    once: true,
  });

  const send = <Name extends ChatEventName>(
    event: Name,
    data: EventData<Name>,
  ): void => {
    if (!open) {
      return;
    }
    try {
      streamController.enqueue(encoder.encode(encodeSseEvent(event, data)));
    } catch {
      open = false;
    }
  };

  const finished = runAnswer({
    ...options,
    send,
    signal: providerAbort.signal,
    isClientGone: () => clientGone,
  })
    .catch((error: unknown) => {
      // Reached when the store fails; the reservation stays open until the
      // sweeper releases it at its expiry.
      services.logger.error(
        {
          err: error,
          requestId: options.requestId,
          installId: options.installId,
        },
        'chat stream failed unexpectedly',
      );
      send('error', {
        code: 'internal_error',
        message: `The backend failed while answering. Ask again; if it keeps failing, report request id ${options.requestId}.`,
      });
    })
    .finally(() => {
      // Ends the flight on every path that did not, so followers stop.
      options.flight?.finish({ kind: 'failed' });
      options.clientSignal.removeEventListener('abort', onClientClosed);
      if (open) {
        open = false;
        streamController.close();
      }
    });
  services.activeStreams.track(providerAbort, finished);

  return new Response(body, {
    status: 200,
    headers: {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      'x-request-id': options.requestId,
    },
  });
}

interface RunAnswerOptions extends StreamAnswerOptions {
  send: <Name extends ChatEventName>(
    event: Name,
    data: EventData<Name>,
  ) => void;
  /** Aborts the provider call. */
  signal: AbortSignal;
  /** Whether this request's client has left, with the call aborted or not. */
  isClientGone: () => boolean;
}

async function runAnswer(options: RunAnswerOptions): Promise<void> {
  const { services, reservation, tierProvider, prompt, send } = options;

  send('route', {
    ...options.decision,
    requestId: options.requestId,
    model: tierProvider.modelName,
    inputTokens: prompt.inputTokens,
    maxOutputTokens: reservation.maxOutputTokens,
    fromCache: false,
    context: prompt.context,
  });

  if (options.signal.aborted) {
    // Gone before the provider was called: nothing was spent.
    await services.store.release({
      requestId: options.requestId,
      now: services.now(),
    });
    logOutcome(options, undefined, { outcome: 'client_closed', charged: 0 });
    return;
  }

  const outcome = await callProvider(options);
  const reason: unknown = options.signal.reason;
  const clientClosed =
    reason instanceof ClientClosedError || options.isClientGone();
  const stopping = reason instanceof ServerStoppingError;

  if (outcome.error === undefined || clientClosed) {
    const usage = await settleAnswer(options, outcome);
    if (clientClosed) {
      // The call outlived the client only when followers kept it going.
      if (outcome.error === undefined) {
        await shareAnswer(options, outcome, providerCounts(options, outcome));
      } else {
        const failure = describeFailure({
          error: outcome.error,
          stopping,
          delivered: outcome.deltaCount > 0,
          tier: options.decision.tier,
          tierProvider,
        });
        options.flight?.finish({ kind: 'failed', failure });
      }
      logOutcome(options, outcome, { outcome: 'client_closed', ...usage });
      return;
    }
    await shareAnswer(options, outcome, usage);
    send('usage', usage);
    send('done', {
      requestId: options.requestId,
      finishReason: outcome.finishReason ?? 'stop',
    });
    logOutcome(options, outcome, { outcome: 'done', ...usage });
    return;
  }

  const failure = describeFailure({
    error: outcome.error,
    stopping,
    delivered: outcome.deltaCount > 0,
    tier: options.decision.tier,
    tierProvider,
  });
  options.flight?.finish({ kind: 'failed', failure });
  if (outcome.deltaCount === 0) {
    await services.store.release({
      requestId: options.requestId,
      now: services.now(),
    });
    send('error', failure);
    logOutcome(options, outcome, {
      outcome: failure.code,
      charged: 0,
      error: outcome.error,
    });
    return;
  }

  const usage = await settleAnswer(options, outcome);
  send('usage', usage);
  send('error', failure);
  logOutcome(options, outcome, {
    outcome: failure.code,
    ...usage,
    error: outcome.error,
  });
}

/**
 * Ends the flight with the answer and, when it is complete (finish reason
 * "stop"), stores it in the answer cache first, so a request sent after
 * `done` already finds it.
 */
async function shareAnswer(
  options: RunAnswerOptions,
  outcome: ProviderOutcome,
  usage: UsageCounts,
): Promise<void> {
  const { flight, services } = options;
  if (!flight) {
    return;
  }
  const finishReason = outcome.finishReason ?? 'stop';
  const counts: UsageCounts = {
    inputTokens: usage.inputTokens,
    cachedInputTokens: Math.min(usage.cachedInputTokens, usage.inputTokens),
    outputTokens: usage.outputTokens,
  };
  const model = answeringModel(options.tierProvider, outcome.answeredBy).name;
  if (outcome.finishReason === 'stop' && services.answerCache) {
    await services.answerCache.store(flight.key, {
      text: outcome.text,
      finishReason,
      tier: options.decision.tier,
      model,
      usage: counts,
      createdAt: services.now().getTime(),
    });
  }
  flight.finish({ kind: 'finished', finishReason, model, usage: counts });
}

async function callProvider(
  options: RunAnswerOptions,
): Promise<ProviderOutcome> {
  const { services, tierProvider } = options;
  const { config } = services;
  const outcome: ProviderOutcome = {
    text: '',
    deliveredText: '',
    deltaCount: 0,
    usage: undefined,
    finishReason: undefined,
    error: undefined,
    answeredBy: undefined,
    attemptCount: 0,
  };
  const fallback = tierProvider.fallback;
  const stream = streamWithRetry({
    primary: {
      adapter: tierProvider.adapter,
      model: tierProvider.modelRef.model,
    },
    fallback: fallback
      ? { adapter: fallback.adapter, model: fallback.modelRef.model }
      : undefined,
    call: {
      system: options.prompt.system,
      messages: options.prompt.messages,
      maxOutputTokens: options.reservation.maxOutputTokens,
      signal: options.signal,
    },
    policy: {
      maxAttempts: config.maxAttempts,
      baseDelayMs: config.retryBaseDelayMs,
      maxDelayMs: config.retryMaxDelayMs,
    },
    timeouts: {
      connectMs: config.connectTimeoutMs,
      firstTokenMs: config.firstTokenTimeoutMs,
      idleMs: config.idleTimeoutMs,
    },
    logger: services.logger.child({
      requestId: options.requestId,
      installId: options.installId,
    }),
  });

  try {
    for await (const event of stream) {
      if (event.type === 'text-delta') {
        outcome.text += event.text;
        if (!options.isClientGone()) {
          outcome.deliveredText += event.text;
        }
        outcome.deltaCount++;
        options.send('text-delta', { text: event.text });
        options.flight?.addDelta(event.text);
      } else if (event.type === 'usage') {
        outcome.usage = event.usage;
      } else {
        outcome.finishReason = event.reason;
      }
    }
  } catch (error) {
    outcome.error = error;
  }
  outcome.answeredBy = stream.answeredBy;
  outcome.attemptCount = stream.attempts.length;
  // An abort that lands after the last event still counts as one.
  if (outcome.error === undefined && options.signal.aborted) {
    outcome.error = options.signal.reason;
  }
  return outcome;
}

/**
 * Returns the tokens of the whole provider call: its reported usage, or
 * the prompt and all output counted with the tokenizer when none came.
 */
function providerCounts(
  options: RunAnswerOptions,
  outcome: ProviderOutcome,
): UsageCounts {
  return (
    outcome.usage ?? {
      inputTokens: options.prompt.inputTokens,
      cachedInputTokens: 0,
      outputTokens: countTokens(outcome.text),
    }
  );
}

/**
 * Settles the reservation to the provider's usage, or to an estimate of
 * what was delivered, and returns the usage event. A call that went on
 * for followers after this client left is settled to its input plus the
 * output delivered before that, counted with the tokenizer.
 *
 * NOTE: the rest of such a call's output is paid to the provider but is in
 * no settle entry, so spend computed from the ledger misses it.
 */
async function settleAnswer(
  options: RunAnswerOptions,
  outcome: ProviderOutcome,
): Promise<AnswerUsage> {
  const { services, tierProvider } = options;
  const outlivedClient = outcome.deliveredText !== outcome.text;
  const estimated = outcome.usage === undefined || outlivedClient;
  const counts: UsageCounts = outlivedClient
    ? {
        inputTokens: outcome.usage?.inputTokens ?? options.prompt.inputTokens,
        cachedInputTokens: outcome.usage?.cachedInputTokens ?? 0,
        outputTokens: countTokens(outcome.deliveredText),
      }
    : providerCounts(options, outcome);

  const model = answeringModel(tierProvider, outcome.answeredBy);
  const result = await services.store.settle({
    requestId: options.requestId,
    usage: counts,
    estimated,
    now: services.now(),
    model: model.name,
  });

  let charged = 0;
  let weight = options.reservation.weight;
  let remaining: number;
  if (result.status === 'settled' || result.status === 'already_settled') {
    charged = result.charged;
    weight = result.weight;
    remaining = result.balance.remaining;
  } else {
    // The sweeper released an expired reservation first, so nothing is
    // charged for this answer.
    services.logger.warn(
      {
        requestId: options.requestId,
        installId: options.installId,
        status: result.status,
      },
      'settled an answer whose reservation was already closed',
    );
    remaining = (
      await services.store.getBalance(options.installId, services.now())
    ).remaining;
  }

  const price = tierProvider.demo
    ? UNKNOWN_PRICE
    : (services.config.prices[model.priceKey] ?? UNKNOWN_PRICE);
  return {
    inputTokens: counts.inputTokens,
    cachedInputTokens: Math.min(counts.cachedInputTokens, counts.inputTokens),
    outputTokens: counts.outputTokens,
    charged,
    weight,
    estimated,
    remaining,
    costUsd: computeCostUsd(price, counts),
    model: model.name,
  };
}

/**
 * Names the model whose answer was delivered: the fallback when the retry
 * layer moved to it, otherwise the tier's model.
 */
function answeringModel(
  tierProvider: TierProvider,
  answeredBy: AttemptRecord | undefined,
): { name: string; priceKey: string } {
  if (answeredBy?.fallback && tierProvider.fallback) {
    return {
      name: tierProvider.fallback.modelName,
      priceKey: tierProvider.fallback.modelName,
    };
  }
  return {
    name: tierProvider.modelName,
    priceKey: formatModelRef(tierProvider.modelRef),
  };
}

function logOutcome(
  options: RunAnswerOptions,
  provider: ProviderOutcome | undefined,
  result: Partial<AnswerUsage> & {
    outcome: string;
    charged: number;
    error?: unknown;
  },
): void {
  const fields = {
    requestId: options.requestId,
    installId: options.installId,
    route: '/v1/chat',
    status: 200,
    tier: options.decision.tier,
    model: answeringModel(options.tierProvider, provider?.answeredBy).name,
    attempts: provider?.attemptCount ?? 0,
    followers: options.flight?.followerCount ?? 0,
    outcome: result.outcome,
    inputTokens: result.inputTokens,
    cachedInputTokens: result.cachedInputTokens,
    outputTokens: result.outputTokens,
    charged: result.charged,
    estimated: result.estimated,
    contextTokens: options.prompt.context.sentTokens,
    summarizedTurns: options.prompt.context.summarizedTurns,
    droppedTurns: options.prompt.context.droppedTurns,
    ms: Math.round(performance.now() - options.startedAt),
  };
  if (result.error === undefined) {
    options.services.logger.info(fields, 'chat answered');
  } else {
    options.services.logger.warn(
      { ...fields, err: result.error },
      'chat answer failed',
    );
  }
}
