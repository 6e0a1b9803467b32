/**
 * The background's handling of one question: answer it from the local
 * cache when it can, otherwise stream it from the backend, cache the
 * complete answer and keep the usage mirror in step.
 */
import type { AnswerUsage, ChatEvent, Tier } from '../protocol';
import { routeQuestion } from '../router';
import type { AnswerCache } from './answer-cache';
import type { BackendClient } from './backend-client';
import { isBackendError } from './backend-error';
import { buildCacheKey, listLookupHistories } from './cache-key';
import type { CachedAnswerRecord } from './database';
import { debugLog } from './debug-log';
import { describeError } from './error-messages';
import type { InstallRecord } from './install-store';
import type { AnswerEvent, AskMessage } from './port-messages';
import { readRouteModels, rememberRouteModel } from './route-models';
import { recordAnsweredQuestion, recordCacheSaving } from './question-stats';
import { readSettings, resolveRequestedTier, type Settings } from './settings';
import type { UsageMirror } from './usage-mirror';
import type { UsageSnapshot } from './usage-snapshot';

/** Scores how alike two questions are, for near-duplicate offers. */
export interface QuestionSimilarity {
  /** Similarity between 0 and 1. */
  score(a: string, b: string): number;
  /** Whether a score is high enough to offer the earlier answer. */
  isSimilar(score: number): boolean;
}

/** Services the background uses to answer questions. */
export interface AnswerServices {
  client: BackendClient;
  cache: AnswerCache;
  usage: UsageMirror;
  /** Near-duplicate offers are made only when this is set. */
  similarity?: QuestionSimilarity;
}

const DAY_MS = 24 * 60 * 60 * 1000;

export interface AnswerQuestionOptions {
  request: AskMessage;
  services: AnswerServices;
  /** Aborts the backend call; the answer then ends as stopped. */
  signal: AbortSignal;
  /** Receives the answer's events for the side panel, in order. */
  emit: (event: AnswerEvent) => void;
}

export type AnswerOutcome = 'cached' | 'done' | 'error' | 'stopped';

type RouteEventData = Extract<ChatEvent, { event: 'route' }>['data'];
type AnswerFailure = Omit<
  Extract<AnswerEvent, { type: 'answer-error' }>,
  'type' | 'answerId'
>;

/**
 * Answers one question and emits its events: route, deltas, usage and done
 * for an answer, or an error or stopped event. Then refreshes the usage
 * mirror from the backend, except after a cache hit, which changes nothing.
 * The answer's live estimate stays until the backend's figures arrive.
 * Never throws: every failure becomes an `answer-error` event.
 */
export async function answerQuestion(
  options: AnswerQuestionOptions,
): Promise<AnswerOutcome> {
  const { request, services, signal, emit } = options;
  const answerId = request.answerId;
  let outcome: AnswerOutcome = 'error';
  let unreachable: AnswerFailure | undefined;

  try {
    const settings = await readSettings();
    services.cache.configure({
      maxAgeMs: settings.cacheMaxAgeDays * DAY_MS,
      maxBytes: settings.cacheMaxBytes,
    });
    const resolved = applyRoutingPreference(request, settings);
    const install = await services.client.ensureInstall(signal);
    if (settings.cacheEnabled) {
      const cached = await lookUpCachedAnswer(resolved, install, services);
      if (cached) {
        replayCachedAnswer(answerId, cached, emit);
        await recordCacheSaving(cached.charged).catch(logFailure);
        outcome = 'cached';
        return outcome;
      }
      if (await offerSimilarAnswer(resolved, install, services, emit)) {
        outcome = 'cached';
        return outcome;
      }
    }
    outcome = await streamAnswer(
      { ...options, request: resolved },
      install,
      settings,
    );
  } catch (error) {
    outcome = signal.aborted ? 'stopped' : 'error';
    if (signal.aborted) {
      emit({ type: 'answer-stopped', answerId });
    } else {
      const failure = describeFailure(error, services);
      emit({ type: 'answer-error', answerId, ...failure });
      if (isUnreachable(failure)) {
        unreachable = failure;
      }
    }
  } finally {
    if (outcome === 'cached') {
      await services.usage.endAnswer(answerId).catch(logFailure);
    } else if (unreachable) {
      // Asking again would only wait for the same failure.
      await services.usage.endAnswer(answerId).catch(logFailure);
      await services.usage
        .markProblem('unreachable', unreachable.message)
        .catch(logFailure);
    } else {
      await refreshUsage(services, { endedAnswerId: answerId });
    }
  }
  return outcome;
}

export interface RefreshUsageOptions {
  /** An answer whose live estimate the backend's figures replace. */
  endedAnswerId?: string;
  signal?: AbortSignal;
}

/**
 * Fetches `GET /v1/usage` into the usage mirror and returns the snapshot.
 * When the backend cannot be asked, the mirror keeps its last figures,
 * drops the ended answer's estimate and records the problem.
 */
export async function refreshUsage(
  services: Pick<AnswerServices, 'client' | 'usage'>,
  options: RefreshUsageOptions = {},
): Promise<UsageSnapshot> {
  const { endedAnswerId, signal } = options;
  try {
    const usage = await services.client.getUsage(signal);
    await services.usage.applyUsageResponse(usage, endedAnswerId);
  } catch (error) {
    if (endedAnswerId !== undefined) {
      await services.usage.endAnswer(endedAnswerId).catch(logFailure);
    }
    const failure = describeFailure(error, services);
    await services.usage
      .markProblem(
        isUnreachable(failure) ? 'unreachable' : 'failed',
        failure.message,
      )
      .catch(logFailure);
  }
  await services.usage.flush().catch(logFailure);
  return services.usage.snapshot();
}

function isUnreachable(failure: AnswerFailure): boolean {
  return (
    failure.code === 'backend_unreachable' || failure.code === 'backend_timeout'
  );
}

/** Replaces an `auto` tier with the one the user's routing preference asks for. */
function applyRoutingPreference(
  request: AskMessage,
  settings: Settings,
): AskMessage {
  const routerScore = routeQuestion({
    question: request.question,
    history: request.history,
    pageContext: request.pageContext,
  }).score;
  return {
    ...request,
    tier: resolveRequestedTier({
      requested: request.tier,
      preference: settings.routing,
      routerScore,
    }),
  };
}

/** Resolves the tier a request will be answered by, as the backend's router would. */
function resolveTier(request: AskMessage): Tier {
  if (request.tier !== 'auto') {
    return request.tier;
  }
  return routeQuestion({
    question: request.question,
    history: request.history,
    pageContext: request.pageContext,
  }).tier;
}

/** Returns whether a question has no history and no page context. */
function isContextFree(request: AskMessage): boolean {
  return request.history.length === 0 && request.pageContext === undefined;
}

async function lookUpCachedAnswer(
  request: AskMessage,
  install: InstallRecord,
  services: AnswerServices,
): Promise<CachedAnswerRecord | undefined> {
  if (request.similarKey !== undefined) {
    const chosen = await services.cache.use(request.similarKey);
    // An offered entry of another install is never served.
    if (chosen && chosen.installId === install.installId) {
      return chosen;
    }
  }
  const tier = resolveTier(request);
  const models = await readRouteModels();
  const histories = listLookupHistories(request.question, request.history);
  const keys = await Promise.all(
    histories.map((history) =>
      buildCacheKey({
        installId: install.installId,
        question: request.question,
        history,
        pageContext: request.pageContext,
        tier,
        model: models[tier],
      }),
    ),
  );
  return services.cache.lookup(keys);
}

/**
 * Offers the cached answer of a similar earlier question, when the request
 * allows it and has no context that the earlier answer lacked. Returns
 * whether an offer was emitted; the answer then ends until the user picks.
 */
async function offerSimilarAnswer(
  request: AskMessage,
  install: InstallRecord,
  services: AnswerServices,
  emit: (event: AnswerEvent) => void,
): Promise<boolean> {
  const similarity = services.similarity;
  if (!similarity || !request.offerSimilar || !isContextFree(request)) {
    return false;
  }
  const similar = await services.cache.findSimilar({
    installId: install.installId,
    question: request.question,
    score: (a, b) => similarity.score(a, b),
    isSimilar: (score) => similarity.isSimilar(score),
  });
  if (!similar) {
    return false;
  }
  emit({
    type: 'answer-similar',
    answerId: request.answerId,
    question: similar.entry.question,
    cacheKey: similar.entry.key,
    score: Math.min(1, Math.max(0, similar.score)),
  });
  return true;
}

function replayCachedAnswer(
  answerId: string,
  cached: CachedAnswerRecord,
  emit: (event: AnswerEvent) => void,
): void {
  emit({
    type: 'answer-route',
    answerId,
    tier: cached.tier,
    model: cached.model,
    score: cached.score,
    reasons: cached.reasons,
    inputTokens: cached.inputTokens,
    fromCache: true,
  });
  emit({ type: 'answer-delta', answerId, text: cached.text });
  emit({
    type: 'answer-usage',
    answerId,
    inputTokens: cached.inputTokens,
    outputTokens: cached.outputTokens,
    charged: 0,
    estimated: false,
    fromCache: true,
  });
  emit({ type: 'answer-done', answerId, finishReason: cached.finishReason });
}

/**
 * Streams the answer from the backend, forwarding its events. A complete
 * answer is stored in the cache before `answer-done` is emitted, so a
 * repeat asked right after it is a hit.
 */
async function streamAnswer(
  options: AnswerQuestionOptions,
  install: InstallRecord,
  settings: Settings,
): Promise<AnswerOutcome> {
  const { request, services, signal, emit } = options;
  const answerId = request.answerId;
  let route: RouteEventData | undefined;
  let usage: AnswerUsage | undefined;
  let text = '';

  const events = services.client.streamChat(
    {
      requestId: answerId,
      question: request.question,
      history: request.history,
      pageContext: request.pageContext,
      tier: request.tier,
    },
    signal,
  );
  for await (const event of events) {
    switch (event.event) {
      case 'route':
        route = event.data;
        emit({
          type: 'answer-route',
          answerId,
          tier: route.tier,
          model: route.model,
          score: route.score,
          reasons: route.reasons,
          inputTokens: route.inputTokens,
          fromCache: route.fromCache,
          context: route.context,
        });
        rememberRouteModel(route.tier, route.model).catch(logFailure);
        services.usage
          .beginAnswer(answerId, {
            tier: route.tier,
            inputTokens: route.inputTokens,
          })
          .catch(logFailure);
        break;

      case 'text-delta':
        text += event.data.text;
        emit({ type: 'answer-delta', answerId, text: event.data.text });
        services.usage.updateAnswer(answerId, text).catch(logFailure);
        break;

      case 'usage':
        usage = event.data;
        emit({
          type: 'answer-usage',
          answerId,
          inputTokens: usage.inputTokens,
          outputTokens: usage.outputTokens,
          charged: usage.charged,
          estimated: usage.estimated,
          fromCache: route?.fromCache ?? false,
        });
        await services.usage.settleAnswer(answerId, usage).catch(logFailure);
        if (!route?.fromCache) {
          await recordAnsweredQuestion(usage.charged).catch(logFailure);
        }
        break;

      case 'done':
        if (route && !signal.aborted && settings.cacheEnabled) {
          await storeAnswer({
            request,
            install,
            route,
            usage,
            text,
            finishReason: event.data.finishReason,
            cache: services.cache,
          });
        }
        emit({
          type: 'answer-done',
          answerId,
          finishReason: event.data.finishReason,
        });
        return 'done';

      case 'error':
        emit({
          type: 'answer-error',
          answerId,
          code: event.data.code,
          message: describeError(
            {
              code: event.data.code,
              message: event.data.message,
              resetAt: event.data.resetAt,
              retryAfterSeconds: event.data.retryAfterSeconds,
            },
            { backendUrl: services.client.baseUrl },
          ),
          resetAt: event.data.resetAt,
        });
        return 'error';
    }
  }
  // streamChat throws when the stream ends without done or error.
  return 'error';
}

async function storeAnswer(answer: {
  request: AskMessage;
  install: InstallRecord;
  route: RouteEventData;
  usage: AnswerUsage | undefined;
  text: string;
  finishReason: string;
  cache: AnswerCache;
}): Promise<void> {
  const { request, install, route, usage } = answer;
  const key = await buildCacheKey({
    installId: install.installId,
    question: request.question,
    history: request.history,
    pageContext: request.pageContext,
    tier: route.tier,
    model: route.model,
  });
  const stored = await answer.cache
    .store({
      key,
      installId: install.installId,
      question: request.question,
      tier: route.tier,
      model: route.model,
      score: route.score,
      reasons: route.reasons,
      text: answer.text,
      finishReason: answer.finishReason,
      inputTokens: usage?.inputTokens ?? route.inputTokens,
      outputTokens: usage?.outputTokens ?? 0,
      charged: usage?.charged ?? 0,
      contextFree: isContextFree(request),
    })
    .catch((error: unknown) => {
      logFailure(error);
      return false;
    });
  debugLog('answer', stored ? 'answer cached' : 'answer not cached', {
    answerId: request.answerId,
    finishReason: answer.finishReason,
  });
}

/** Turns any failure into the code and sentence of an `answer-error` event. */
function describeFailure(
  error: unknown,
  services: Pick<AnswerServices, 'client'>,
): AnswerFailure {
  const backendUrl = services.client.baseUrl;
  if (isBackendError(error)) {
    return {
      code: error.code,
      message: describeError(
        {
          code: error.code,
          message: error.message,
          resetAt: error.resetAt,
          retryAfterSeconds: error.retryAfterSeconds,
          remaining: error.remaining,
        },
        { backendUrl },
      ),
      resetAt: error.resetAt,
    };
  }
  logFailure(error);
  const detail = error instanceof Error ? error.message : String(error);
  return {
    code: 'extension_failed',
    message: describeError(
      { code: 'extension_failed', message: detail },
      { backendUrl },
    ),
  };
}

function logFailure(error: unknown): void {
  debugLog('answer', 'caught failure', {
    error: error instanceof Error ? `${error.name}: ${error.message}` : error,
  });
}
