/**
 * Answers from the server answer cache, as the same server-sent events a
 * provider answer produces (route with fromCache true, text-delta, usage
 * with nothing charged, done), for two cases:
 *
 * - a hit: the stored answer, sent as one delta;
 * - a follower: the answer an identical request in flight is fetching,
 *   its deltas so far at once and the rest as they arrive. When that
 *   request fails, the follower receives an error event instead of usage.
 *
 * Either way the install is charged nothing, and the ledger records a
 * cache hit with the tokens the answer would have cost.
 */
import type {
  AnswerUsage,
  ChatEventName,
  RouteDecision,
} from '../../lib/protocol';
import { encodeSseEvent } from '../../lib/sse';
import type { AnswerFlight, FlightEnd } from '../cache/answer-flight';
import type { AppServices } from '../http/context';
import type { Prompt } from '../prompt';
import type { TierProvider } from '../providers/index';
import { describeWait } from './describe-failure';

export interface StreamCachedAnswerOptions {
  services: AppServices;
  requestId: string;
  installId: string;
  decision: RouteDecision;
  tierProvider: TierProvider;
  prompt: Prompt;
  /** The flight to follow; a hit's flight has already ended with its answer. */
  flight: AnswerFlight;
  /** Whether the answer was found stored (a hit) rather than in flight. */
  stored: boolean;
  /** Aborts when the client closes the connection. */
  clientSignal: AbortSignal;
  /** performance.now() when the request arrived, for the log line. */
  startedAt: number;
}

/** Returns the event-stream response of a cache hit or a single-flight follower. */
export function streamCachedAnswer(
  options: StreamCachedAnswerOptions,
): Response {
  const { services, flight } = options;
  const encoder = new TextEncoder();
  let open = true;
  let stopFollowing: () => void = () => undefined;
  let streamController!: ReadableStreamDefaultController<Uint8Array>;

  const send = (event: ChatEventName, data: unknown): void => {
    if (!open) {
      return;
    }
    try {
      streamController.enqueue(encoder.encode(encodeSseEvent(event, data)));
    } catch {
      open = false;
    }
  };
  const close = () => {
    stopFollowing();
    if (open) {
      open = false;
      streamController.close();
    }
  };

  const body = new ReadableStream<Uint8Array>({
    start: (controller) => {
      streamController = controller;
      send('route', {
        ...options.decision,
        requestId: options.requestId,
        model: options.tierProvider.modelName,
        inputTokens: options.prompt.inputTokens,
        maxOutputTokens: services.config.maxOutputTokens,
        fromCache: true,
      });
      let text = '';
      stopFollowing = flight.follow({
        onDelta: (delta) => {
          text += delta;
          send('text-delta', { text: delta });
        },
        onEnd: (end) => {
          void finishAnswer(options, end, text.length, send).finally(close);
        },
      });
    },
    cancel: () => {
      open = false;
      stopFollowing();
    },
  });
  options.clientSignal.addEventListener(
    'abort',
    () => {
      open = false;
      stopFollowing();
    },
    { once: true },
  );

  return new Response(body, {
    status: 200,
    headers: {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      'x-request-id': options.requestId,
    },
  });
}

/** Records the hit and sends usage and done, or the error of a failed flight. */
async function finishAnswer(
  options: StreamCachedAnswerOptions,
  end: FlightEnd,
  deliveredChars: number,
  send: (event: ChatEventName, data: unknown) => void,
): Promise<void> {
  const { services } = options;
  const fields = {
    requestId: options.requestId,
    installId: options.installId,
    route: '/v1/chat',
    status: 200,
    tier: options.decision.tier,
    source: options.stored ? 'cache' : 'single_flight',
  };

  if (end.kind === 'failed') {
    const code = end.failure?.code ?? 'upstream_failed';
    const retryAfterSeconds = end.failure?.retryAfterSeconds;
    const wait = describeWait(retryAfterSeconds);
    send('error', {
      code,
      message: `The same question, asked at the same moment, was being answered and that answer failed${deliveredChars > 0 ? ' before it finished' : ''}. ${wait}; nothing was charged.`,
      ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
    });
    services.logger.warn(
      { ...fields, outcome: code, charged: 0 },
      'chat answer failed',
    );
    return;
  }

  try {
    const balance = await services.store.recordCacheHit({
      requestId: options.requestId,
      installId: options.installId,
      tier: options.decision.tier,
      model: end.model,
      usage: end.usage,
      now: services.now(),
    });
    const usage: AnswerUsage = {
      ...end.usage,
      charged: 0,
      weight:
        options.decision.tier === 'premium' ? balance.plan.premiumWeight : 1,
      estimated: false,
      remaining: balance.remaining,
      costUsd: 0,
      model: end.model,
    };
    send('usage', usage);
    send('done', {
      requestId: options.requestId,
      finishReason: end.finishReason,
    });
    services.logger.info(
      {
        ...fields,
        model: end.model,
        outcome: 'cache_hit',
        charged: 0,
        inputTokens: end.usage.inputTokens,
        outputTokens: end.usage.outputTokens,
        ms: Math.round(performance.now() - options.startedAt),
      },
      'chat answered from cache',
    );
  } catch (error) {
    services.logger.error(
      { ...fields, err: error },
      'recording a cache hit failed',
    );
    send('error', {
      code: 'internal_error',
      message: `The backend failed while answering from its cache. Ask again; if it keeps failing, report request id ${options.requestId}. Nothing was charged.`,
    });
  }
}
