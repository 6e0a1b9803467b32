/**
 * The premium allowance: the allowance tokens per period that a plan lets
 * premium-tier answers take. Once the period's premium answers have taken
 * it, a question routed (or sent) to premium goes to the cheap tier, with
 * a reason that the side panel shows.
 */
import type { RouteDecision } from '../../lib/protocol';
import { readPremiumAllowance } from '../plans';
import type { Plan, Store } from '../store/types';

/**
 * Returns the decision unchanged, or moved to the cheap tier with the
 * reason added when the plan's premium allowance for the period is used.
 * Premium use is the allowance tokens charged by settled premium answers
 * in the current period.
 *
 * NOTE: answers still streaming are not counted, so questions sent at the
 * same time can each pass the check; the rate limits bound how many.
 */
export async function applyPremiumAllowance(options: {
  decision: RouteDecision;
  plan: Plan;
  store: Store;
  installId: string;
  now: Date;
}): Promise<RouteDecision> {
  const { decision, plan } = options;
  const limit = readPremiumAllowance(plan);
  if (decision.tier !== 'premium' || limit === undefined) {
    return decision;
  }

  const used = await measurePremiumUse(
    options.store,
    options.installId,
    options.now,
  );
  if (used.tokens < limit) {
    return decision;
  }
  return {
    ...decision,
    tier: 'cheap',
    reasons: [
      ...decision.reasons,
      `the ${plan.name} plan's premium allowance of ${limit} tokens is used up until ${used.resetAt.toISOString().slice(0, 10)}`,
    ],
  };
}

/** Allowance tokens that premium answers took in the current period. */
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
  const tokens = models
    .filter((model) => model.tier === 'premium')
    .reduce((total, model) => total + model.charged, 0);
  return { tokens, resetAt: balance.resetAt };
}
