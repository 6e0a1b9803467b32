/**
 * The wire protocol between the extension and the backend: request bodies,
 * server-sent events and JSON responses, as zod schemas with their types.
 * Both sides parse with these schemas, so a change here is a protocol change.
 */
import { z } from 'zod';

/** Limits on a chat request, enforced by the schema on both sides. */
export const REQUEST_LIMITS = {
  /** Maximum characters in the question. */
  questionChars: 32_000,
  /** Maximum earlier turns sent with a question. */
  historyMessages: 100,
  /** Maximum characters in one earlier turn. */
  messageChars: 64_000,
  /** Maximum characters of page text sent as context. */
  pageTextChars: 400_000,
} as const;

export const TIERS = ['cheap', 'premium'] as const;
export const tierSchema = z.enum(TIERS);
export type Tier = z.infer<typeof tierSchema>;

export const requestedTierSchema = z.enum(['auto', 'cheap', 'premium']);
export type RequestedTier = z.infer<typeof requestedTierSchema>;

/** Stable error codes; every error response and error event carries one. */
export const ERROR_CODES = [
  'invalid_request',
  'unauthorized',
  'not_found',
  'allowance_exhausted',
  'rate_limited',
  'prompt_too_large',
  'upstream_failed',
  'upstream_timeout',
  'internal_error',
  'budget_exceeded',
] as const;
export const errorCodeSchema = z.enum(ERROR_CODES);
export type ErrorCode = z.infer<typeof errorCodeSchema>;

/** The JSON body of every non-2xx response. */
export const errorBodySchema = z.object({
  error: z.object({
    code: errorCodeSchema,
    message: z.string(),
    /** ISO time when the allowance resets, on `allowance_exhausted`. */
    resetAt: z.string().optional(),
    /** Seconds to wait, on `rate_limited`. */
    retryAfterSeconds: z.number().optional(),
    /** The request field at fault, on `invalid_request`. */
    field: z.string().optional(),
    /** Allowance tokens still free, on `allowance_exhausted`. */
    remaining: z.number().optional(),
  }),
});
export type ErrorBody = z.infer<typeof errorBodySchema>;

export const chatMessageSchema = z.object({
  role: z.enum(['user', 'assistant']),
  content: z.string().max(REQUEST_LIMITS.messageChars),
});
export type ChatMessage = z.infer<typeof chatMessageSchema>;

export const pageContextSchema = z.object({
  title: z.string().max(1_000),
  url: z.string().max(4_000),
  text: z.string().max(REQUEST_LIMITS.pageTextChars),
});
export type PageContext = z.infer<typeof pageContextSchema>;

/** `POST /v1/installs` body. */
export const registerInstallRequestSchema = z.object({
  extensionVersion: z.string().max(64).optional(),
  browser: z.string().max(64).optional(),
});
export type RegisterInstallRequest = z.infer<
  typeof registerInstallRequestSchema
>;

/** `POST /v1/installs` response. */
export const registerInstallResponseSchema = z.object({
  installId: z.string(),
  token: z.string(),
  /** ISO time after which the token is rejected and must be renewed. */
  expiresAt: z.string(),
});
export type RegisterInstallResponse = z.infer<
  typeof registerInstallResponseSchema
>;

/** `DELETE /v1/installs/me` response. */
export const deleteInstallResponseSchema = z.object({
  installId: z.string(),
  /** ISO time the install was deleted; the first deletion's on a repeat. */
  deletedAt: z.string(),
  /** Entries removed from the backend's answer cache by this request. */
  cacheEntriesDeleted: z.number().int().nonnegative(),
  /**
   * Ledger entries kept for the developer's accounting. They hold token
   * counts, models and times, never question or answer text.
   */
  ledgerEntriesKept: z.number().int().nonnegative(),
});
export type DeleteInstallResponse = z.infer<typeof deleteInstallResponseSchema>;

/** `POST /v1/chat` body. */
export const chatRequestSchema = z.object({
  /** Client-chosen id, so a retried request is recognised; a UUID. */
  requestId: z.string().uuid().optional(),
  question: z
    .string()
    .min(1)
    .max(REQUEST_LIMITS.questionChars)
    .refine((question) => question.trim() !== '', {
      message: 'must contain text other than whitespace',
    }),
  history: z
    .array(chatMessageSchema)
    .max(REQUEST_LIMITS.historyMessages)
    .default([]),
  pageContext: pageContextSchema.optional(),
  tier: requestedTierSchema.default('auto'),
});
export type ChatRequest = z.input<typeof chatRequestSchema>;
export type ParsedChatRequest = z.output<typeof chatRequestSchema>;

/** The router's decision, as the route event and the extension preview show it. */
export const routeDecisionSchema = z.object({
  tier: tierSchema,
  /** 0 to 1; higher means more likely to need the premium model. */
  score: z.number().min(0).max(1),
  reasons: z.array(z.string()),
});
export type RouteDecision = z.infer<typeof routeDecisionSchema>;

/** Token usage of one answer, as settled by the backend. */
export const answerUsageSchema = z.object({
  inputTokens: z.number().int().nonnegative(),
  cachedInputTokens: z.number().int().nonnegative(),
  outputTokens: z.number().int().nonnegative(),
  /** Allowance tokens taken: (input + output) times the tier's weight. */
  charged: z.number().int().nonnegative(),
  weight: z.number().positive(),
  /** True when the provider reported no usage and the tokenizer counted. */
  estimated: z.boolean(),
  /** Allowance left after this answer. */
  remaining: z.number().int(),
  /** Cost to the developer in US dollars, from the price catalog. */
  costUsd: z.number().nonnegative(),
  /**
   * `provider:model` that produced the answer: the tier's fallback when it
   * answered instead, or the model of a cached answer.
   */
  model: z.string().optional(),
});
export type AnswerUsage = z.infer<typeof answerUsageSchema>;

/**
 * Report of the context sent with a question within the tier's context
 * budget, and of what was left out. Counts are tokens of lib/tokens.
 */
export const contextReportSchema = z.object({
  /** The tier's context budget. */
  budgetTokens: z.number().int().nonnegative(),
  /** Input tokens sent besides the question: system prompt, turns, page. */
  sentTokens: z.number().int().nonnegative(),
  /** Tokens of the question as a message of its own. */
  questionTokens: z.number().int().nonnegative(),
  /** Earlier turns sent whole. */
  recentTurns: z.number().int().nonnegative(),
  /** Older turns that the running summary stands for. */
  summarizedTurns: z.number().int().nonnegative(),
  /** Older turns left out because no summary could be written or sent. */
  droppedTurns: z.number().int().nonnegative(),
  /** Tokens of the running summary as sent. */
  summaryTokens: z.number().int().nonnegative(),
  /**
   * Source of the running summary: written for this request (and charged
   * as a cheap-tier call), reused from the cache, or failed.
   */
  summary: z
    .object({
      status: z.enum(['written', 'reused', 'failed']),
      /** Allowance tokens the summary call took; 0 when reused or failed. */
      charged: z.number().int().nonnegative(),
    })
    .optional(),
  /** The page context, when the question came with one. */
  page: z
    .object({
      sentPassages: z.number().int().nonnegative(),
      totalPassages: z.number().int().nonnegative(),
      /** Tokens of the page block, title and URL included. */
      sentTokens: z.number().int().nonnegative(),
      /** Characters of page text left out. */
      omittedChars: z.number().int().nonnegative(),
      totalChars: z.number().int().nonnegative(),
    })
    .optional(),
});
export type ContextReport = z.infer<typeof contextReportSchema>;

/** Server-sent events of `POST /v1/chat`, keyed by the SSE `event:` name. */
export const chatEventSchemas = {
  route: routeDecisionSchema.extend({
    requestId: z.string(),
    model: z.string(),
    /** Input tokens the backend counted and reserved. */
    inputTokens: z.number().int().nonnegative(),
    /** Output cap sent to the provider. */
    maxOutputTokens: z.number().int().positive(),
    fromCache: z.boolean(),
    /** Context report of the request; absent from older backends. */
    context: contextReportSchema.optional(),
  }),
  'text-delta': z.object({ text: z.string() }),
  usage: answerUsageSchema,
  done: z.object({ requestId: z.string(), finishReason: z.string() }),
  error: z.object({
    code: errorCodeSchema,
    message: z.string(),
    resetAt: z.string().optional(),
    /**
     * Whole seconds to wait before asking again, when the provider sent a
     * Retry-After (a rate limit that outlasted the retries).
     */
    retryAfterSeconds: z.number().int().positive().optional(),
  }),
} as const;
export type ChatEventName = keyof typeof chatEventSchemas;
export type ChatEvent = {
  [Name in ChatEventName]: {
    event: Name;
    data: z.infer<(typeof chatEventSchemas)[Name]>;
  };
}[ChatEventName];

/** One day of usage, for the HUD chart; tokens are allowance tokens. */
export const dailyUsageSchema = z.object({
  /** UTC date, YYYY-MM-DD. */
  date: z.string(),
  cheap: z.number().int().nonnegative(),
  premium: z.number().int().nonnegative(),
  /** Tokens a cache hit would have cost. */
  saved: z.number().int().nonnegative(),
});

/** One model's use in the current period, for the dashboard. */
export const modelUsageSchema = z.object({
  /** `provider:model`. */
  model: z.string(),
  tier: tierSchema,
  /** Answers settled. */
  requests: z.number().int().nonnegative(),
  /** Provider input tokens, cached ones included. */
  inputTokens: z.number().int().nonnegative(),
  cachedInputTokens: z.number().int().nonnegative(),
  /** Provider output tokens. */
  outputTokens: z.number().int().nonnegative(),
  /** Allowance tokens charged. */
  charged: z.number().int().nonnegative(),
  /** Answers served from the cache. */
  cacheHits: z.number().int().nonnegative(),
  /** Allowance tokens the cache hits saved. */
  saved: z.number().int().nonnegative(),
});
export type ModelUsage = z.infer<typeof modelUsageSchema>;

/** `GET /v1/usage` response; all counts are allowance tokens. */
export const usageResponseSchema = z.object({
  installId: z.string(),
  plan: z.string(),
  allowance: z.number().int().nonnegative(),
  used: z.number().int().nonnegative(),
  reserved: z.number().int().nonnegative(),
  /** allowance - used - reserved, never below zero. */
  remaining: z.number().int().nonnegative(),
  premiumWeight: z.number().positive(),
  periodStart: z.string(),
  resetAt: z.string(),
  daily: z.array(dailyUsageSchema),
  /** Use per model in the current period; absent from older backends. */
  models: z.array(modelUsageSchema).optional(),
});
export type UsageResponse = z.infer<typeof usageResponseSchema>;

/** Maximum allowance tokens that one admin grant adds. */
export const MAX_GRANT_TOKENS = 1_000_000_000_000;

/**
 * Maximum allowance tokens of one period, the plan's and grants together.
 * It stays far below Number.MAX_SAFE_INTEGER, so allowance, use and
 * reservations add up exactly and every response still parses.
 */
export const MAX_PERIOD_ALLOWANCE_TOKENS = 1_000_000_000_000_000;

/** `POST /v1/admin/installs/:installId/grant` body. */
export const adminGrantRequestSchema = z.object({
  /** Allowance tokens added to the current period; they do not roll over. */
  tokens: z
    .number()
    .int()
    .positive()
    .max(MAX_GRANT_TOKENS, {
      message: `must be at most ${MAX_GRANT_TOKENS} tokens per grant`,
    }),
});

/** `POST /v1/admin/installs/:installId/plan` body. */
export const adminPlanRequestSchema = z.object({
  plan: z.string().min(1).max(64),
});

/** One ledger entry as the admin view shows it; times are ISO strings. */
export const adminLedgerEntrySchema = z.object({
  id: z.number().int(),
  kind: z.enum(['reserve', 'settle', 'release', 'grant', 'cache_hit', 'reset']),
  requestId: z.string().nullable(),
  periodStart: z.string(),
  tier: tierSchema.nullable(),
  model: z.string().nullable(),
  inputTokens: z.number().int().nonnegative(),
  cachedInputTokens: z.number().int().nonnegative(),
  outputTokens: z.number().int().nonnegative(),
  weight: z.number().positive(),
  allowanceTokens: z.number().int().nonnegative(),
  estimated: z.boolean(),
  createdAt: z.string(),
});

/** A plan as `GET /v1/admin/plans` lists it. */
export const adminPlanSchema = z.object({
  name: z.string(),
  allowanceTokens: z.number().int().nonnegative(),
  premiumWeight: z.number().positive(),
  requestsPerMinute: z.number().int().positive(),
  tokensPerMinute: z.number().int().positive(),
  stripePriceId: z.string().optional(),
});

/** `GET /v1/admin/plans` response. */
export const adminPlansResponseSchema = z.object({
  plans: z.array(adminPlanSchema),
});

/**
 * `GET /v1/admin/installs/:installId` response, also returned by the grant
 * and plan endpoints after their change.
 */
export const adminInstallResponseSchema = z.object({
  install: z.object({
    id: z.string(),
    createdAt: z.string(),
    plan: z.string(),
    revoked: z.boolean(),
  }),
  usage: usageResponseSchema,
  /** The latest ledger entries, oldest first. */
  ledger: z.array(adminLedgerEntrySchema),
});
export type AdminInstallResponse = z.infer<typeof adminInstallResponseSchema>;

/** A plan as `GET /v1/plans` shows it to people; counts are allowance tokens. */
export const publicPlanSchema = z.object({
  name: z.string(),
  /** Allowance tokens per period. */
  allowanceTokens: z.number().int().nonnegative(),
  /** Allowance tokens charged per premium-tier token. */
  premiumWeight: z.number().positive(),
  /** Allowance tokens per period that premium answers may take; null for no limit. */
  premiumAllowanceTokens: z.number().int().nonnegative().nullable(),
  requestsPerMinute: z.number().int().positive(),
  tokensPerMinute: z.number().int().positive(),
  /** The price as the developer wrote it, such as "$5 a month"; null when unset. */
  priceLabel: z.string().nullable(),
  /** True when the upgrade button may sell this plan through Stripe Checkout. */
  purchasable: z.boolean(),
});
export type PublicPlan = z.infer<typeof publicPlanSchema>;

/** `GET /v1/plans` response: every plan, smallest allowance first. */
export const plansResponseSchema = z.object({
  /** False when the backend has no Stripe keys, so nothing can be bought. */
  billingEnabled: z.boolean(),
  plans: z.array(publicPlanSchema),
});
export type PlansResponse = z.infer<typeof plansResponseSchema>;

/** `POST /v1/billing/checkout` body; without a plan, the next one up is sold. */
export const checkoutRequestSchema = z.object({
  plan: z.string().min(1).max(64).optional(),
});
export type CheckoutRequest = z.infer<typeof checkoutRequestSchema>;

/** `POST /v1/billing/checkout` response. */
export const checkoutResponseSchema = z.object({
  /** The Stripe Checkout page to open in a new tab. */
  url: z.string().url(),
  sessionId: z.string(),
  plan: z.string(),
});
export type CheckoutResponse = z.infer<typeof checkoutResponseSchema>;
