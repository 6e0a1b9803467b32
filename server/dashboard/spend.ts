/**
 * Dollar figures from the ledger's token counts: each settled answer is
 * priced with its model's catalog price, cached input at its own price.
 */
import {
  computeCostUsd,
  type ModelPrice,
  type TokenCounts,
} from '../../lib/catalog';
import type { Tier } from '../../lib/protocol';
import type { SpendRow } from './queries';

/** Spend of one model on one tier. */
export interface ModelSpend {
  model: string;
  tier: Tier;
  /** Answers settled from a provider. */
  requests: number;
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
  /** US dollars. */
  spendUsd: number;
}

/** Spend of one tier. */
export interface TierSpend {
  requests: number;
  /** Input plus output tokens. */
  tokens: number;
  spendUsd: number;
}

/** Spend figures of a time range, such as today or this month. */
export interface PeriodSpend {
  spendUsd: number;
  requests: number;
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
  byModel: ModelSpend[];
  byTier: Record<Tier, TierSpend>;
  cache: {
    hits: number;
    /** Cache hits over all answers (settled plus cached), 0 to 1. */
    hitRate: number;
    /** Cost of the cached answers had their provider answered them. */
    savedUsd: number;
  };
  routing: {
    /** Cost of the settled answers on the premium model. */
    allPremiumUsd: number;
    /** allPremiumUsd minus what they cost, never below zero. */
    savedUsd: number;
  };
  /** Answers that failed before they were charged (released reservations). */
  failedAnswers: number;
  /** Installs with at least one answer or cache hit. */
  activeInstalls: number;
  /** Models the price list lacks; they count as free. */
  unpricedModels: string[];
}

/** One install's spend in a range. */
export interface InstallSpend {
  installId: string;
  requests: number;
  spendUsd: number;
}

export interface PriceLookup {
  /** Prices per `provider:model`. */
  prices: Readonly<Record<string, ModelPrice>>;
  /** `provider:model` of the premium tier, for the all-premium comparison. */
  premiumModel: string;
}

/** Prices one row's tokens; undefined when the model has no price. */
export function priceTokens(
  lookup: PriceLookup,
  model: string,
  counts: TokenCounts,
): number | undefined {
  const price = lookup.prices[model];
  return price === undefined ? undefined : computeCostUsd(price, counts);
}

/** Sums rows into the figures of one time range. */
export function summarizeSpend(
  rows: readonly SpendRow[],
  lookup: PriceLookup,
): PeriodSpend {
  const summary: PeriodSpend = {
    spendUsd: 0,
    requests: 0,
    inputTokens: 0,
    cachedInputTokens: 0,
    outputTokens: 0,
    byModel: [],
    byTier: {
      cheap: { requests: 0, tokens: 0, spendUsd: 0 },
      premium: { requests: 0, tokens: 0, spendUsd: 0 },
    },
    cache: { hits: 0, hitRate: 0, savedUsd: 0 },
    routing: { allPremiumUsd: 0, savedUsd: 0 },
    failedAnswers: 0,
    activeInstalls: 0,
    unpricedModels: [],
  };
  const models = new Map<string, ModelSpend>();
  const unpriced = new Set<string>();
  const active = new Set<string>();

  for (const row of rows) {
    if (row.kind === 'release') {
      summary.failedAnswers += row.entries;
      continue;
    }
    active.add(row.installId);
    const cost = priceTokens(lookup, row.model, row);
    if (cost === undefined) {
      unpriced.add(row.model);
    }
    if (row.kind === 'cache_hit') {
      summary.cache.hits += row.entries;
      summary.cache.savedUsd += cost ?? 0;
      continue;
    }

    summary.spendUsd += cost ?? 0;
    summary.requests += row.entries;
    summary.inputTokens += row.inputTokens;
    summary.cachedInputTokens += row.cachedInputTokens;
    summary.outputTokens += row.outputTokens;

    const tier = summary.byTier[row.tier];
    tier.requests += row.entries;
    tier.tokens += row.inputTokens + row.outputTokens;
    tier.spendUsd += cost ?? 0;

    const key = `${row.tier} ${row.model}`;
    const model = models.get(key) ?? {
      model: row.model,
      tier: row.tier,
      requests: 0,
      inputTokens: 0,
      cachedInputTokens: 0,
      outputTokens: 0,
      spendUsd: 0,
    };
    model.requests += row.entries;
    model.inputTokens += row.inputTokens;
    model.cachedInputTokens += row.cachedInputTokens;
    model.outputTokens += row.outputTokens;
    model.spendUsd += cost ?? 0;
    models.set(key, model);

    // Prompt caching differs per provider, so the comparison prices every
    // input token as uncached on the premium model.
    summary.routing.allPremiumUsd +=
      priceTokens(lookup, lookup.premiumModel, {
        inputTokens: row.inputTokens,
        cachedInputTokens: 0,
        outputTokens: row.outputTokens,
      }) ?? 0;
  }

  const answers = summary.requests + summary.cache.hits;
  summary.cache.hitRate = answers === 0 ? 0 : summary.cache.hits / answers;
  summary.routing.savedUsd = Math.max(
    0,
    summary.routing.allPremiumUsd - summary.spendUsd,
  );
  summary.byModel = [...models.values()].sort(
    (left, right) => right.spendUsd - left.spendUsd,
  );
  summary.activeInstalls = active.size;
  summary.unpricedModels = [...unpriced].sort();
  return summary;
}

/** Ranks installs by the dollars their settled answers cost. */
export function rankInstallsBySpend(
  rows: readonly SpendRow[],
  lookup: PriceLookup,
  limit: number,
): InstallSpend[] {
  const installs = new Map<string, InstallSpend>();
  for (const row of rows) {
    if (row.kind !== 'settle') {
      continue;
    }
    const install = installs.get(row.installId) ?? {
      installId: row.installId,
      requests: 0,
      spendUsd: 0,
    };
    install.requests += row.entries;
    install.spendUsd += priceTokens(lookup, row.model, row) ?? 0;
    installs.set(row.installId, install);
  }
  return [...installs.values()]
    .sort((left, right) => right.spendUsd - left.spendUsd)
    .slice(0, limit);
}
