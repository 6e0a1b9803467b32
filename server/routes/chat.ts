/**
 * `POST /v1/chat`: routes a question, lays the prompt out within the
 * tier's context budget (folding older turns into a running summary
 * written by the cheap model), reserves its tokens against the allowance,
 * then streams the answer. Everything that can reject the request (400,
 * 402, 413) happens before the answer's provider call, as JSON; after
 * that, failures are error events.
 */
import { randomUUID } from 'node:crypto';
import type { Hono, MiddlewareHandler } from 'hono';
import { planPromptHistory } from '../../lib/context-budget';
import {
  chatRequestSchema,
  type ParsedChatRequest,
  type RouteDecision,
} from '../../lib/protocol';
import { routeQuestion } from '../../lib/router';
import { applyPremiumAllowance } from '../billing/premium-allowance';
import type { BudgetGuard } from '../budgets/budget-guard';
import { lookupAnswerCache } from '../chat/lookup-answer-cache';
import { streamAnswer } from '../chat/stream-answer';
import { streamCachedAnswer } from '../chat/stream-cached-answer';
import { MIN_OUTPUT_TOKENS } from '../config';
import { obtainRunningSummary } from '../context/running-summary';
import {
  createSummaryStore,
  type SummaryStore,
} from '../context/summary-store';
import type { AppEnv, AppServices } from '../http/context';
import { HttpError, setRateLimitHeaders } from '../http/errors';
import { parseJsonBody } from '../http/parse-body';
import {
  enforceRateLimit,
  MINUTE_MS,
  toRateLimitHeaders,
} from '../limits/enforce';
import { UnknownPlanError } from '../store/types';
import { buildPrompt, type Prompt } from '../prompt';

/**
 * How long a reservation may stay open before the sweeper releases it; far
 * longer than any answer capped at the configured output tokens takes.
 */
export const RESERVATION_TTL_MS = 15 * 60_000;

/** Adds the chat route to the app, behind `authenticate`. */
export function addChatRoute(
  app: Hono<AppEnv>,
  services: AppServices,
  authenticate: MiddlewareHandler<AppEnv>,
  /** The spend budgets; without it no budget applies. */
  budgets?: BudgetGuard,
): void {
  const summaryStore = createSummaryStore({
    answerCache: services.answerCache,
    now: services.now,
  });

  app.post('/v1/chat', authenticate, async (context) => {
    const startedAt = performance.now();
    if (services.isStopping()) {
      throw new HttpError({
        status: 503,
        code: 'internal_error',
        message: 'The backend is stopping. Ask again in a moment.',
      });
    }
    const installId = context.get('installId') as string;
    const planName = context.get('installPlan') as string;
    const plan = services.plans[planName];
    if (!plan) {
      throw new UnknownPlanError(planName, installId);
    }
    const requestRate = await enforceRateLimit({
      limiter: services.rateLimiter,
      key: `chat-requests:${installId}`,
      limit: plan.requestsPerMinute,
      cost: 1,
      windowMs: MINUTE_MS,
      now: services.now(),
      reason: `Too many questions: the ${plan.name} plan allows ${plan.requestsPerMinute} per minute`,
    });
    const request = await parseJsonBody(context, chatRequestSchema);
    const requestId = request.requestId ?? randomUUID();
    context.set('requestId', requestId);

    // Past a soft budget premium degrades to cheap; past a hard one this
    // throws budget_exceeded.
    const routed =
      budgets === undefined
        ? decideRoute(request)
        : await budgets.applyToRoute(decideRoute(request), services.now());
    const decision = await applyPremiumAllowance({
      decision: routed,
      plan,
      store: services.store,
      installId,
      now: services.now(),
    });
    const tierProvider = services.providers[decision.tier];
    const budget = services.config.tierBudgets[decision.tier];
    const promptInput = {
      question: request.question,
      history: request.history,
      pageContext: request.pageContext,
      contextTokens: budget.contextTokens,
      recentTurns: services.config.recentTurns,
    };
    const historyPlan = planPromptHistory(promptInput);
    // Counted with the summary at its largest until it is known. Every
    // piece is counted within the budget, so only the question, at most
    // REQUEST_LIMITS.questionChars, is counted whole.
    let prompt = buildPrompt({
      ...promptInput,
      summary: historyPlan.foldedTurns > 0 ? { kind: 'estimate' } : undefined,
    });
    if (prompt.inputTokens > services.config.maxInputTokens) {
      throw new HttpError({
        status: 413,
        code: 'prompt_too_large',
        message: `The question with its context is ${prompt.inputTokens} tokens, more than the ${services.config.maxInputTokens} this backend accepts; the question alone is ${prompt.context.questionTokens}. Ask a shorter question.`,
      });
    }

    // A hit or a request identical to one in flight is answered from the
    // cache without a reservation, because it charges nothing.
    const lookup = await lookupAnswerCache({
      services,
      installId,
      request,
      decision,
      tierProvider,
    });
    if (lookup !== undefined && lookup.kind !== 'leader') {
      context.set('loggedByHandler', true);
      return streamCachedAnswer({
        services,
        requestId,
        installId,
        decision,
        tierProvider,
        prompt,
        flight: lookup.flight,
        stored: lookup.kind === 'hit',
        clientSignal: context.req.raw.signal,
        startedAt,
      });
    }
    const flight = lookup?.flight;

    let result;
    try {
      if (historyPlan.foldedTurns > 0) {
        prompt = await summarizeOlderTurns({
          services,
          store: summaryStore,
          installId,
          requestId,
          promptInput,
          folded: historyPlan.folded,
          signal: context.req.raw.signal,
        });
      }
      // Counted with the whole output cap, because the answer's length is
      // unknown until it ends.
      // NOTE: unused output is not given back to the per-minute count.
      await enforceRateLimit({
        limiter: services.rateLimiter,
        key: `chat-tokens:${installId}`,
        limit: plan.tokensPerMinute,
        cost: prompt.inputTokens + budget.maxOutputTokens,
        windowMs: MINUTE_MS,
        now: services.now(),
        reason: `Too many tokens: the ${plan.name} plan allows ${plan.tokensPerMinute} input and output tokens per minute`,
      });
      result = await reserveAnswer({
        services,
        requestId,
        installId,
        decision,
        modelName: tierProvider.modelName,
        inputTokens: prompt.inputTokens,
        maxOutputTokens: budget.maxOutputTokens,
      });
    } catch (error) {
      // The followers of this flight get an error event and may ask again.
      flight?.finish({ kind: 'failed' });
      throw error;
    }

    context.set('loggedByHandler', true);
    const response = await streamAnswer({
      services,
      requestId,
      installId,
      decision,
      tierProvider,
      prompt,
      reservation: result.reservation,
      clientSignal: context.req.raw.signal,
      startedAt,
      flight,
    });
    // The streamed response's headers may be immutable, so copy them.
    const headers = new Headers(response.headers);
    setRateLimitHeaders(headers, toRateLimitHeaders(requestRate));
    return new Response(response.body, {
      status: response.status,
      statusText: response.statusText,
      headers,
    });
  });
}

/**
 * Reserves the answer's tokens. Throws HttpError 400 for a reused request
 * id and 402 when the allowance cannot cover the smallest answer.
 */
async function reserveAnswer(options: {
  services: AppServices;
  requestId: string;
  installId: string;
  decision: RouteDecision;
  modelName: string;
  inputTokens: number;
  /** The tier's output cap. */
  maxOutputTokens: number;
}) {
  const { services, requestId, installId, decision } = options;
  const now = services.now();
  const result = await services.store.reserve({
    requestId,
    installId,
    tier: decision.tier,
    model: options.modelName,
    inputTokens: options.inputTokens,
    maxOutputTokens: options.maxOutputTokens,
    minOutputTokens: MIN_OUTPUT_TOKENS,
    now,
    expiresAt: new Date(now.getTime() + RESERVATION_TTL_MS),
  });
  if (result.status === 'duplicate_request') {
    throw new HttpError({
      status: 400,
      code: 'invalid_request',
      message: `The requestId ${requestId} was already used. Send a new UUID with each question.`,
      details: { field: 'requestId' },
    });
  }
  if (result.status === 'allowance_exhausted') {
    const { balance } = result;
    throw new HttpError({
      status: 402,
      code: 'allowance_exhausted',
      message: `The token allowance is used up: this question needs ${result.requiredTokens} tokens and ${balance.remaining} remain. It resets at ${balance.resetAt.toISOString()}.`,
      details: { resetAt: balance.resetAt },
    });
  }

  return result;
}

/**
 * Obtains the running summary of the folded turns and lays the prompt out
 * with it. When no summary can be had, the prompt goes with the recent
 * turns only, and its context report marks the summary as failed.
 */
async function summarizeOlderTurns(options: {
  services: AppServices;
  store: SummaryStore;
  installId: string;
  requestId: string;
  promptInput: Parameters<typeof buildPrompt>[0];
  folded: ParsedChatRequest['history'];
  signal: AbortSignal;
}): Promise<Prompt> {
  const { services } = options;
  let summary;
  try {
    summary = await obtainRunningSummary({
      services,
      store: options.store,
      installId: options.installId,
      requestId: options.requestId,
      folded: options.folded,
      signal: options.signal,
    });
  } catch (error) {
    // A failing store must not cost the user the answer.
    services.logger.error(
      {
        err: error,
        requestId: options.requestId,
        installId: options.installId,
      },
      'running summary failed unexpectedly; answering with recent turns',
    );
    summary = { kind: 'failed', reason: 'internal', charged: 0 } as const;
  }

  const prompt = buildPrompt({
    ...options.promptInput,
    summary:
      summary.kind === 'text'
        ? { kind: 'text', text: summary.text }
        : { kind: 'failed' },
  });
  prompt.context.summary = {
    status: summary.kind === 'text' ? summary.status : 'failed',
    charged: summary.charged,
  };
  return prompt;
}

/**
 * Routes with the router for `auto`; a tier asked for outright wins, with
 * the router's score kept for reference.
 */
export function decideRoute(request: ParsedChatRequest): RouteDecision {
  const decision = routeQuestion({
    question: request.question,
    history: request.history,
    pageContext: request.pageContext,
  });
  if (request.tier === 'auto') {
    return decision;
  }
  return {
    tier: request.tier,
    score: decision.score,
    reasons: [`the ${request.tier} tier was requested`],
  };
}
