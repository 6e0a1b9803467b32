/**
 * Whether paid plans are on: they need a Stripe secret key, a webhook
 * secret, both checkout URLs, a database that a second connection can
 * open, and at least one plan with a Stripe price id.
 */
import Stripe from 'stripe';
import type { Config, StripeSettings } from '../config';
import type { Plan } from '../store/types';

/** Stripe calls give up after this long, in milliseconds. */
export const STRIPE_TIMEOUT_MS = 20_000;

/** The Stripe settings once every one of them is set. */
export interface CompleteStripeSettings {
  secretKey: string;
  webhookSecret: string;
  successUrl: string;
  cancelUrl: string;
  api: StripeSettings['api'];
}

export type BillingState =
  | { enabled: true; stripe: Stripe; settings: CompleteStripeSettings }
  | { enabled: false; reasons: string[] };

/**
 * Decides whether billing is on and, when it is, creates the Stripe
 * client. When it is off, `reasons` lists each missing piece as a
 * sentence, for the start-up log.
 */
export function resolveBillingState(
  config: Pick<Config, 'stripe' | 'database'>,
  plans: Readonly<Record<string, Plan>>,
): BillingState {
  const { stripe } = config;
  const reasons: string[] = [];
  const missing = [
    ['STRIPE_SECRET_KEY', stripe.secretKey],
    ['STRIPE_WEBHOOK_SECRET', stripe.webhookSecret],
    ['TOKENWISE_CHECKOUT_SUCCESS_URL', stripe.successUrl],
    ['TOKENWISE_CHECKOUT_CANCEL_URL', stripe.cancelUrl],
  ]
    .filter(([, value]) => value === undefined)
    .map(([name]) => name);
  if (missing.length > 0) {
    reasons.push(
      `${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} unset`,
    );
  }
  if (
    config.database.kind === 'sqlite' &&
    config.database.path === ':memory:'
  ) {
    reasons.push(
      'the database is :memory:, which the billing tables cannot share',
    );
  }
  if (!Object.values(plans).some((plan) => plan.stripePriceId !== undefined)) {
    reasons.push(
      'no plan has a stripePriceId; add one to a plan in TOKENWISE_PLANS_FILE',
    );
  }
  if (
    reasons.length > 0 ||
    stripe.secretKey === undefined ||
    stripe.webhookSecret === undefined ||
    stripe.successUrl === undefined ||
    stripe.cancelUrl === undefined
  ) {
    return { enabled: false, reasons };
  }

  const settings: CompleteStripeSettings = {
    secretKey: stripe.secretKey,
    webhookSecret: stripe.webhookSecret,
    successUrl: stripe.successUrl,
    cancelUrl: stripe.cancelUrl,
    api: stripe.api,
  };
  return {
    enabled: true,
    settings,
    stripe: new Stripe(settings.secretKey, {
      host: settings.api.host,
      port: settings.api.port,
      protocol: settings.api.protocol,
      timeout: STRIPE_TIMEOUT_MS,
      maxNetworkRetries: 2,
      appInfo: { name: 'Tokenwise' },
    }),
  };
}
