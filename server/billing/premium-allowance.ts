/**
 * The premium allowance: the allowance tokens per period that a plan lets
 * premium-tier answers take. Once the period's premium answers have taken
 * it, a question routed (or sent) to premium goes to the cheap tier, with
 * a reason that the side panel shows.
 */
import type { RouteDecision } from '../../lib/protocol';
import type { SpendDatabase } from '../dashboard/database';
import { readPremiumAllowance } from '../plans';
import { fitOutputCap } from '../store/allowance';
import type { Plan, Store } from '../store/types';

// The second connection of each store, through which premium reservations
// still open are read; the Store interface reports only their total.
const reservationReaders = new WeakMap<Store, SpendDatabase>();

/**
 * Lets the premium allowance count the premium reservations held in
 * `store`, read through `database`, a second connection to the same
 * database.
 */
export function countOpenPremiumReservations(
  store: Store,
  database: SpendDatabase,
): void {
  reservationReaders.set(store, database);
}

export interface PremiumAllowanceResult {
  decision: RouteDecision;
  /**
   * Allowance tokens of the premium allowance still free, when the decision
   * stayed on premium under a plan with a premium allowance.
   */
  premiumTokensLeft?: number;
}

/**
 * Returns the decision unchanged, or moved to the cheap tier with the
 * reason added when the plan's premium allowance for the period is used.
 * Premium use is the allowance tokens charged by settled premium answers
 * in the current period, plus those held by premium answers still
 * streaming when the store has a second connection (a file or PostgreSQL
 * database, not :memory:).
 *
 * NOTE: the check and the reservation are separate steps, so premium
 * questions sent at the same instant can each pass it; the rate limits
 * bound how many.
 */
export async function applyPremiumAllowance(options: {
  decision: RouteDecision;
  plan: Plan;
  store: Store;
  installId: string;
  now: Date;
}): Promise<PremiumAllowanceResult> {
  const { decision, plan } = options;
  const limit = readPremiumAllowance(plan);
  if (decision.tier !== 'premium' || limit === undefined) {
    return { decision };
  }

  const used = await measurePremiumUse(
    options.store,
    options.installId,
    options.now,
  );
  if (used.tokens < limit) {
    return { decision, premiumTokensLeft: limit - used.tokens };
  }
  return {
    decision: moveToCheap(
      decision,
      `the ${plan.name} plan's premium allowance of ${limit} tokens is used up until ${used.resetAt.toISOString().slice(0, 10)}`,
    ),
  };
}

/**
 * Caps a premium answer's output so that its reservation,
 * ceil(premiumWeight * (input + output cap)), stays within the premium
 * allowance left. When not even `minOutputTokens` fits, the decision moves
 * to the cheap tier with the reason added, and the output cap is
 * `maxOutputTokens` unchanged.
 */
export function fitPremiumShare(options: {
  result: PremiumAllowanceResult;
  plan: Plan;
  /** Input tokens of the premium prompt. */
  inputTokens: number;
  /** The premium tier's output cap. */
  maxOutputTokens: number;
  minOutputTokens: number;
}): { decision: RouteDecision; maxOutputTokens: number } {
  const { result, plan, maxOutputTokens } = options;
  const left = result.premiumTokensLeft;
  if (result.decision.tier !== 'premium' || left === undefined) {
    return { decision: result.decision, maxOutputTokens };
  }

  const cap = fitOutputCap({
    available: left,
    weight: plan.premiumWeight,
    inputTokens: options.inputTokens,
    maxOutputTokens,
  });
  if (cap >= options.minOutputTokens) {
    return { decision: result.decision, maxOutputTokens: cap };
  }
  const limit = readPremiumAllowance(plan);
  return {
    decision: moveToCheap(
      result.decision,
      `the ${plan.name} plan's premium allowance of ${limit} tokens has ${left} left, too few for this question`,
    ),
    maxOutputTokens,
  };
}

function moveToCheap(decision: RouteDecision, reason: string): RouteDecision {
  return {
    ...decision,
    tier: 'cheap',
    reasons: [...decision.reasons, reason],
  };
}

/**
 * Measures the allowance tokens that premium answers took in the current
 * period, settled and (when readable) still held.
 */
export async function measurePremiumUse(
  store: Store,
  installId: string,
  now: Date,
): Promise<{ tokens: number; resetAt: Date }> {
  const balance = await store.getBalance(installId, now);
  const models = await store.getModelUsage(installId, {
    since: balance.periodStart,
    until: balance.resetAt,
  });
  const settled = models
    .filter((model) => model.tier === 'premium')
    .reduce((total, model) => total + model.charged, 0);

  const database = reservationReaders.get(store);
  if (database === undefined) {
    return { tokens: settled, resetAt: balance.resetAt };
  }
  const rows = await database.all<{ reserved: number | string | null }>(
    `SELECT SUM(amount) AS reserved FROM reservations
       WHERE install_id = ? AND period_start = ? AND tier = 'premium'`,
    [installId, balance.periodStart.getTime()],
  );
  const reserved = Number(rows[0]?.reserved ?? 0);
  return { tokens: settled + reserved, resetAt: balance.resetAt };
}
