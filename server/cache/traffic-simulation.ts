/**
 * Replays a traffic log through the router and both answer caches and
 * computes the bill. Each request, in log order:
 * 1. is routed with lib/router.ts (no history, no page context);
 * 2. is looked up in the extension's exact cache of its install (the key
 *    of lib/extension/cache-key.ts: install, normalized question, tier,
 *    model, system prompt version);
 * 3. on a miss, in the backend's shared scope when it is on, then in the
 *    backend's cache of its install;
 * 4. on a miss everywhere, is billed at the tier's model and stored in
 *    every cache it passed.
 *
 * NOTE: the log carries no times, so entries never expire and the
 * extension's size cap is not modelled.
 */
import { z } from 'zod';
import {
  computeCostUsd,
  DEFAULT_PRICES,
  UNKNOWN_PRICE,
  type ModelPrice,
} from '../../lib/catalog';
import { normalizeQuestion } from '../../lib/extension/normalize-question';
import type { Tier } from '../../lib/protocol';
import { routeQuestion } from '../../lib/router';
import { countTokens } from '../../lib/tokens';
import { buildPrompt } from '../prompt';

/** Output cap of the estimate, the backend's default TOKENWISE_MAX_OUTPUT_TOKENS. */
export const MAX_ESTIMATED_OUTPUT_TOKENS = 1_024;

/** One request of a traffic log. */
export const logLineSchema = z.object({
  prompt: z.string().min(1),
  install: z.string().optional(),
  weak_correct: z.boolean().optional(),
  strong_correct: z.boolean().optional(),
});
export type LogLine = z.infer<typeof logLineSchema>;

/** Tokens and dollars of one tier's provider calls. */
export interface TierBill {
  model: string;
  requests: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

/** The bill of one replay. */
export interface SimulationBill {
  requests: number;
  installs: number;
  sharedScope: boolean;
  cacheEnabled: boolean;
  routed: Record<Tier, number>;
  providerCalls: Record<Tier, TierBill>;
  cache: {
    extensionHits: number;
    backendSharedHits: number;
    backendPrivateHits: number;
    hitRate: number;
    /** Provider tokens the hits did not spend. */
    savedTokens: number;
    savedUsd: number;
  };
  totalUsd: number;
  /** Every request on the premium model, no cache. */
  premiumOnlyUsd: number;
  /** Every request routed, no cache. */
  noCacheUsd: number;
  savingsVsPremiumOnly: number;
  savingsVsNoCache: number;
  /** Present when some requests carry both labels. */
  quality?: {
    labeledRequests: number;
    /** Share answered correctly with routing and caching. */
    accuracy: number;
    /** Share the premium model answers correctly. */
    premiumOnlyAccuracy: number;
    /** accuracy / premiumOnlyAccuracy. */
    retained: number;
  };
}

export interface SimulateOptions {
  lines: LogLine[];
  sharedScope: boolean;
  cacheEnabled: boolean;
  cheapModel: string;
  premiumModel: string;
  prices?: Record<string, ModelPrice>;
}

interface CachedCall {
  tier: Tier;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  /** Whether the answer was correct, when the request was labeled. */
  correct?: boolean;
}

/** Estimates a question's output tokens: 120 + 2 x its tokens, capped. */
export function estimateOutputTokens(question: string): number {
  return Math.min(MAX_ESTIMATED_OUTPUT_TOKENS, 120 + 2 * countTokens(question));
}

/** Replays the log and returns the bill. */
export function simulateTraffic(options: SimulateOptions): SimulationBill {
  const prices = options.prices ?? DEFAULT_PRICES;
  const models: Record<Tier, string> = {
    cheap: options.cheapModel,
    premium: options.premiumModel,
  };
  const priceOf = (model: string) => prices[model] ?? UNKNOWN_PRICE;
  const extensionCaches = new Map<string, CachedCall>();
  const backendCaches = new Map<string, CachedCall>();
  const installs = new Set<string>();
  const bill = createEmptyBill(options, models);
  let correct = 0;
  let premiumCorrect = 0;
  let labeled = 0;

  for (const line of options.lines) {
    const install = line.install ?? 'default';
    installs.add(install);
    const { tier } = routeQuestion({ question: line.prompt });
    bill.routed[tier]++;
    const inputTokens = buildPrompt({
      question: line.prompt,
      history: [],
    }).inputTokens;
    const outputTokens = estimateOutputTokens(line.prompt);
    const counts = { inputTokens, cachedInputTokens: 0, outputTokens };
    const fresh: CachedCall = {
      tier,
      inputTokens,
      outputTokens,
      costUsd: computeCostUsd(priceOf(models[tier]), counts),
      correct: tier === 'cheap' ? line.weak_correct : line.strong_correct,
    };
    bill.premiumOnlyUsd += computeCostUsd(priceOf(models.premium), counts);
    bill.noCacheUsd += fresh.costUsd;

    const question = normalizeQuestion(line.prompt);
    const keys = {
      extension: JSON.stringify([install, question, tier, models[tier]]),
      shared: JSON.stringify(['shared', question, tier, models[tier]]),
      backend: JSON.stringify([
        'install',
        install,
        question,
        tier,
        models[tier],
      ]),
    };
    const served = options.cacheEnabled
      ? lookUp(keys, extensionCaches, backendCaches, options.sharedScope, bill)
      : undefined;
    const answer = served ?? fresh;
    if (served) {
      bill.cache.savedTokens += served.inputTokens + served.outputTokens;
      bill.cache.savedUsd += served.costUsd;
    } else {
      const calls = bill.providerCalls[tier];
      calls.requests++;
      calls.inputTokens += inputTokens;
      calls.outputTokens += outputTokens;
      calls.costUsd += fresh.costUsd;
      bill.totalUsd += fresh.costUsd;
    }
    if (options.cacheEnabled) {
      store(keys, answer, extensionCaches, backendCaches, options.sharedScope);
    }

    if (line.weak_correct !== undefined && line.strong_correct !== undefined) {
      labeled++;
      correct += answer.correct ? 1 : 0;
      premiumCorrect += line.strong_correct ? 1 : 0;
    }
  }

  return finishBill(bill, installs.size, { labeled, correct, premiumCorrect });
}

function createEmptyBill(
  options: SimulateOptions,
  models: Record<Tier, string>,
): SimulationBill {
  const emptyTier = (model: string): TierBill => ({
    model,
    requests: 0,
    inputTokens: 0,
    outputTokens: 0,
    costUsd: 0,
  });
  return {
    requests: options.lines.length,
    installs: 0,
    sharedScope: options.sharedScope,
    cacheEnabled: options.cacheEnabled,
    routed: { cheap: 0, premium: 0 },
    providerCalls: {
      cheap: emptyTier(models.cheap),
      premium: emptyTier(models.premium),
    },
    cache: {
      extensionHits: 0,
      backendSharedHits: 0,
      backendPrivateHits: 0,
      hitRate: 0,
      savedTokens: 0,
      savedUsd: 0,
    },
    totalUsd: 0,
    premiumOnlyUsd: 0,
    noCacheUsd: 0,
    savingsVsPremiumOnly: 0,
    savingsVsNoCache: 0,
  };
}

function lookUp(
  keys: { extension: string; shared: string; backend: string },
  extensionCaches: Map<string, CachedCall>,
  backendCaches: Map<string, CachedCall>,
  sharedScope: boolean,
  bill: SimulationBill,
): CachedCall | undefined {
  const local = extensionCaches.get(keys.extension);
  if (local) {
    bill.cache.extensionHits++;
    return local;
  }
  const shared = sharedScope ? backendCaches.get(keys.shared) : undefined;
  if (shared) {
    bill.cache.backendSharedHits++;
    return shared;
  }
  const own = backendCaches.get(keys.backend);
  if (own) {
    bill.cache.backendPrivateHits++;
    return own;
  }
  return undefined;
}

function store(
  keys: { extension: string; shared: string; backend: string },
  answer: CachedCall,
  extensionCaches: Map<string, CachedCall>,
  backendCaches: Map<string, CachedCall>,
  sharedScope: boolean,
): void {
  extensionCaches.set(keys.extension, answer);
  backendCaches.set(sharedScope ? keys.shared : keys.backend, answer);
}

function finishBill(
  bill: SimulationBill,
  installs: number,
  labels: { labeled: number; correct: number; premiumCorrect: number },
): SimulationBill {
  const hits =
    bill.cache.extensionHits +
    bill.cache.backendSharedHits +
    bill.cache.backendPrivateHits;
  const share = (part: number, whole: number) =>
    whole === 0 ? 0 : part / whole;
  const result: SimulationBill = {
    ...bill,
    installs,
    cache: { ...bill.cache, hitRate: share(hits, bill.requests) },
    savingsVsPremiumOnly: 1 - share(bill.totalUsd, bill.premiumOnlyUsd),
    savingsVsNoCache: 1 - share(bill.totalUsd, bill.noCacheUsd),
  };
  if (labels.labeled > 0) {
    const accuracy = share(labels.correct, labels.labeled);
    const premiumOnlyAccuracy = share(labels.premiumCorrect, labels.labeled);
    result.quality = {
      labeledRequests: labels.labeled,
      accuracy,
      premiumOnlyAccuracy,
      retained: share(accuracy, premiumOnlyAccuracy),
    };
  }
  return result;
}
