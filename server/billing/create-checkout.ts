/**
 * Creates the Stripe Checkout session that sells an install a paid plan.
 * The session and its subscription carry the install id, plan and price
 * id in their metadata, so every later webhook event finds the install.
 */
import type Stripe from 'stripe';
import type { CheckoutResponse } from '../../lib/protocol';
import { HttpError } from '../http/errors';
import type { Logger } from '../logger';
import { orderPlans } from '../plans';
import type { InstallRecord, Plan } from '../store/types';
import type { CompleteStripeSettings } from './billing-settings';
import type { BillingStorage } from './billing-storage';
import { BILLING_METADATA } from './stripe-events';

export interface CreateCheckoutOptions {
  stripe: Stripe;
  settings: CompleteStripeSettings;
  plans: Readonly<Record<string, Plan>>;
  storage: BillingStorage;
  logger: Logger;
  install: InstallRecord;
  /** The plan to buy; the next plan for sale above the install's when omitted. */
  plan: string | undefined;
}

/**
 * Picks the plan, checks the install may buy it and creates the session.
 * Throws HttpError 400 `invalid_request` for an unknown plan, one not for
 * sale, the install's own plan or an install that already pays, and 502
 * `upstream_failed` when Stripe does not create the session.
 */
export async function createCheckout(
  options: CreateCheckoutOptions,
): Promise<CheckoutResponse> {
  const { install, logger } = options;
  const plan = choosePlan(options.plans, install.plan, options.plan);
  if (plan.name === install.plan) {
    throw invalidPlan(`This install is already on the ${plan.name} plan.`);
  }
  const live = await options.storage.listLiveSubscriptions(install.id);
  if (live.length > 0) {
    // TODO: moving a paying install to another plan needs a subscription
    // update (or Stripe's customer portal), not a second checkout.
    throw invalidPlan(
      `This install already pays for the ${live[0]?.plan} plan (subscription ${live[0]?.status}); cancel it before buying another plan.`,
    );
  }

  const priceId = plan.stripePriceId as string;
  let session: Stripe.Checkout.Session;
  try {
    session = await options.stripe.checkout.sessions.create({
      mode: 'subscription',
      line_items: [{ price: priceId, quantity: 1 }],
      client_reference_id: install.id,
      metadata: buildMetadata(install.id, plan.name, priceId),
      subscription_data: {
        metadata: buildMetadata(install.id, plan.name, priceId),
      },
      success_url: options.settings.successUrl,
      cancel_url: options.settings.cancelUrl,
    });
  } catch (error) {
    logger.error(
      { err: error, installId: install.id, plan: plan.name },
      'stripe did not create a checkout session',
    );
    throw new HttpError({
      status: 502,
      code: 'upstream_failed',
      message: `Stripe did not create the checkout page (${(error as Error).message}). Try again in a moment.`,
      cause: error,
    });
  }
  if (!session.url) {
    throw new HttpError({
      status: 502,
      code: 'upstream_failed',
      message: `Stripe created checkout session ${session.id} without a page to open. Try again in a moment.`,
    });
  }

  logger.info(
    { installId: install.id, plan: plan.name, sessionId: session.id },
    'checkout session created',
  );
  return { url: session.url, sessionId: session.id, plan: plan.name };
}

/**
 * Returns the requested plan, or the first plan for sale with a larger
 * allowance than the current one.
 */
function choosePlan(
  plans: Readonly<Record<string, Plan>>,
  currentPlan: string,
  requested: string | undefined,
): Plan {
  const forSale = orderPlans(plans).filter(
    (plan) => plan.stripePriceId !== undefined,
  );
  const names = forSale.map((plan) => plan.name).join(', ') || 'none';
  if (requested !== undefined) {
    const plan = plans[requested];
    if (plan === undefined) {
      throw invalidPlan(
        `No plan is named "${requested}". Plans for sale: ${names}.`,
      );
    }
    if (plan.stripePriceId === undefined) {
      throw invalidPlan(
        `The ${requested} plan is not for sale. Plans for sale: ${names}.`,
      );
    }
    return plan;
  }

  const current = plans[currentPlan];
  const next = forSale.find(
    (plan) =>
      current === undefined || plan.allowanceTokens > current.allowanceTokens,
  );
  if (next === undefined) {
    throw invalidPlan(
      `No plan for sale is larger than ${currentPlan}. Plans for sale: ${names}.`,
    );
  }
  return next;
}

function buildMetadata(
  installId: string,
  plan: string,
  priceId: string,
): Record<string, string> {
  return {
    [BILLING_METADATA.installId]: installId,
    [BILLING_METADATA.plan]: plan,
    [BILLING_METADATA.priceId]: priceId,
  };
}

function invalidPlan(message: string): HttpError {
  return new HttpError({
    status: 400,
    code: 'invalid_request',
    message,
    details: { field: 'plan' },
  });
}
