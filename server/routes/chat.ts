/**
 * `POST /v1/chat`: routes a question, lays the prompt out within the
 * tier's context budget (folding older turns into a running summary
 * written by the cheap model), reserves its tokens against the allowance,
 * then streams the answer. Everything that can reject the request (400,
 * 402, 413, 429) happens before the answer's provider call, as JSON; after
 * that, failures are error events.
 */
import { randomUUID } from 'node:crypto';
import type { Context, Hono, MiddlewareHandler } from 'hono';
import { planPromptHistory } from '../../lib/context-budget';
import {
  chatRequestSchema,
  type ParsedChatRequest,
  type RouteDecision,
  type Tier,
} from '../../lib/protocol';
import { routeQuestion } from '../../lib/router';
import {
  applyPremiumAllowance,
  fitPremiumShare,
} from '../billing/premium-allowance';
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
import {
  createErrorBody,
  HttpError,
  setRateLimitHeaders,
} from '../http/errors';
import { parseJsonBody } from '../http/parse-body';
import {
  enforceRateLimit,
  MINUTE_MS,
  toRateLimitHeaders,
} from '../limits/enforce';
import { weighTokens } from '../store/allowance';
import { UnknownPlanError, type Plan } from '../store/types';
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
    const allowed = await applyPremiumAllowance({
      decision: routed,
      plan,
      store: services.store,
      installId,
      now: services.now(),
    });
    let layout = layOutPrompt(services, request, allowed.decision.tier);
    // The last premium answer of the period is capped to the premium
    // allowance left, or goes to cheap when not even a short one fits.
    const fitted = fitPremiumShare({
      result: allowed,
      plan,
      inputTokens: layout.prompt.inputTokens,
      maxOutputTokens: layout.budget.maxOutputTokens,
      minOutputTokens: MIN_OUTPUT_TOKENS,
    });
    let decision = fitted.decision;
    let maxOutputTokens = fitted.maxOutputTokens;
    if (decision.tier !== layout.tier) {
      layout = layOutPrompt(services, request, decision.tier);
      maxOutputTokens = layout.budget.maxOutputTokens;
    }
    if (request.tier === 'auto' && decision.tier === 'premium') {
      const cheaper = await routeToCheapWhenPremiumCannotFit({
        services,
        request,
        installId,
        plan,
        decision,
        premiumInputTokens: layout.prompt.inputTokens,
      });
      if (cheaper !== undefined) {
        decision = cheaper.decision;
        layout = cheaper.layout;
        maxOutputTokens = layout.budget.maxOutputTokens;
      }
    }
    const tierProvider = services.providers[decision.tier];
    const { promptInput, historyPlan } = layout;
    let prompt = layout.prompt;

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
        cost: prompt.inputTokens + maxOutputTokens,
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
        maxOutputTokens,
      });
    } catch (error) {
      // The followers of this flight get an error event and may ask again.
      flight?.finish({ kind: 'failed' });
      if (error instanceof AllowanceError) {
        return sendAllowanceError(context, error);
      }
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
 * Retry-After, in seconds, of a request rejected because open reservations
 * contain the allowance it needs. An estimate: answers capped at the
 * configured output tokens usually settle within it.
 */
export const HELD_ALLOWANCE_RETRY_SECONDS = 5;

interface PromptLayout {
  tier: Tier;
  budget: AppServices['config']['tierBudgets'][Tier];
  promptInput: Parameters<typeof buildPrompt>[0];
  historyPlan: ReturnType<typeof planPromptHistory>;
  prompt: Prompt;
}

/**
 * Lays the prompt out within the tier's context budget. Throws HttpError
 * 413 when the prompt is larger than the backend accepts.
 */
function layOutPrompt(
  services: AppServices,
  request: ParsedChatRequest,
  tier: Tier,
): PromptLayout {
  const budget = services.config.tierBudgets[tier];
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
  const prompt = buildPrompt({
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
  return { tier, budget, promptInput, historyPlan, prompt };
}

/**
 * Moves a question the router sent to premium to the cheap tier when the
 * allowance left cannot cover the smallest premium answer but can cover
 * the smallest cheap one. Returns undefined to keep premium; the
 * reservation still decides, so a balance that changes in between gets
 * the usual refusal.
 */
async function routeToCheapWhenPremiumCannotFit(options: {
  services: AppServices;
  request: ParsedChatRequest;
  installId: string;
  plan: Plan;
  decision: RouteDecision;
  premiumInputTokens: number;
}): Promise<{ decision: RouteDecision; layout: PromptLayout } | undefined> {
  const { services, plan } = options;
  const balance = await services.store.getBalance(
    options.installId,
    services.now(),
  );
  const premiumNeeds = weighTokens(
    plan.premiumWeight,
    options.premiumInputTokens + MIN_OUTPUT_TOKENS,
  );
  if (premiumNeeds <= balance.remaining) {
    return undefined;
  }
  const layout = layOutPrompt(services, options.request, 'cheap');
  if (layout.prompt.inputTokens + MIN_OUTPUT_TOKENS > balance.remaining) {
    return undefined;
  }
  return {
    decision: {
      ...options.decision,
      tier: 'cheap',
      reasons: [
        ...options.decision.reasons,
        `premium needs more tokens than remain: at least ${premiumNeeds}, and ${balance.remaining} remain`,
      ],
    },
    layout,
  };
}

/** A 402 allowance_exhausted whose body also carries the tokens remaining. */
class AllowanceError extends HttpError {
  readonly remaining: number;

  constructor(options: { message: string; resetAt: Date; remaining: number }) {
    super({
      status: 402,
      code: 'allowance_exhausted',
      message: options.message,
      details: { resetAt: options.resetAt },
    });
    this.remaining = options.remaining;
  }
}

function sendAllowanceError(
  context: Context<AppEnv>,
  error: AllowanceError,
): Response {
  const body = createErrorBody(error.code, error.message, error.details);
  body.error.remaining = error.remaining;
  return context.json(body, error.status);
}

/**
 * Reserves the answer's tokens. Throws HttpError 400 for a reused request
 * id, 429 when the allowance would cover the answer once the open
 * reservations settle, and AllowanceError (402) when it cannot.
 */
async function reserveAnswer(options: {
  services: AppServices;
  requestId: string;
  installId: string;
  decision: RouteDecision;
  modelName: string;
  inputTokens: number;
  /** The output cap, possibly lowered to fit the premium allowance. */
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
    const { balance, requiredTokens } = result;
    const resetAt = balance.resetAt.toISOString();
    if (
      balance.reserved > 0 &&
      balance.used + requiredTokens <= balance.allowance
    ) {
      throw new HttpError({
        status: 429,
        code: 'rate_limited',
        message: `Other answers in progress hold ${balance.reserved} of the allowance tokens, so the ${balance.remaining} free now cannot cover the ${requiredTokens} this question needs. Ask again in ${HELD_ALLOWANCE_RETRY_SECONDS} seconds, when they have finished.`,
        details: { retryAfterSeconds: HELD_ALLOWANCE_RETRY_SECONDS },
      });
    }
    if (decision.tier === 'premium' && balance.remaining > 0) {
      throw new AllowanceError({
        message: `This premium question needs at least ${requiredTokens} allowance tokens and ${balance.remaining} remain; the allowance resets at ${resetAt}. Ask with the cheap model, which uses fewer allowance tokens.`,
        resetAt: balance.resetAt,
        remaining: balance.remaining,
      });
    }
    throw new AllowanceError({
      message:
        balance.remaining > 0
          ? `This question needs at least ${requiredTokens} allowance tokens and ${balance.remaining} remain; the allowance resets at ${resetAt}. Ask a shorter question or send less history.`
          : `The token allowance is used up: this question needs ${requiredTokens} tokens and 0 remain. It resets at ${resetAt}.`,
      resetAt: balance.resetAt,
      remaining: balance.remaining,
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
