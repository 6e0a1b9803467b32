/**
 * The billing set-up the server and end-to-end tests share: a plans file
 * with a free plan and two paid ones, the Stripe settings that point the
 * backend at a fake Stripe, and the webhook secret that signs its events.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';

export const WEBHOOK_SECRET = 'whsec_test_tokenwise_billing_0123456789';
export const STRIPE_SECRET_KEY = 'sk_test_tokenwise_billing_0123456789';
export const PRO_PRICE = 'price_test_pro';
export const TEAM_PRICE = 'price_test_team';

/** Plans of the billing tests: free with a small premium allowance, pro and team. */
export const BILLING_PLANS = {
  free: {
    allowanceTokens: 3_000,
    premiumWeight: 5,
    premiumAllowanceTokens: 600,
    requestsPerMinute: 100,
    tokensPerMinute: 1_000_000,
  },
  pro: {
    allowanceTokens: 2_000_000,
    premiumWeight: 3,
    requestsPerMinute: 100,
    tokensPerMinute: 1_000_000,
    stripePriceId: PRO_PRICE,
    priceLabel: '$5 a month',
  },
  team: {
    allowanceTokens: 10_000_000,
    premiumWeight: 2,
    requestsPerMinute: 200,
    tokensPerMinute: 2_000_000,
    stripePriceId: TEAM_PRICE,
    priceLabel: '$20 a month',
  },
} as const;

/** Writes the plans file into `directory` and returns its path. */
export function writeBillingPlans(
  directory: string,
  plans: Record<string, unknown> = BILLING_PLANS,
): string {
  const file = path.join(directory, 'plans.json');
  writeFileSync(file, JSON.stringify(plans));
  return file;
}

/** The environment that turns billing on against a fake Stripe. */
export function createBillingEnv(options: {
  stripeBaseUrl: string;
  plansFile: string;
}): Record<string, string> {
  return {
    STRIPE_SECRET_KEY,
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    TOKENWISE_STRIPE_API_BASE: options.stripeBaseUrl,
    TOKENWISE_CHECKOUT_SUCCESS_URL:
      'http://127.0.0.1:9/paid?session={CHECKOUT_SESSION_ID}',
    TOKENWISE_CHECKOUT_CANCEL_URL: 'http://127.0.0.1:9/cancelled',
    TOKENWISE_PLANS_FILE: options.plansFile,
  };
}
