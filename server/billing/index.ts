/**
 * Paid plans through Stripe: the plans shown to people, checkout sessions
 * and webhook events. The app opens it once; with billing off (no Stripe
 * keys), it says why in the start-up log and its routes answer 404.
 */
import type { PlansResponse } from '../../lib/protocol';
import type { Config } from '../config';
import type { SpendDatabase } from '../dashboard/database';
import type { Logger } from '../logger';
import { orderPlans, readPremiumAllowance, type PlanTerms } from '../plans';
import type { Plan, Store } from '../store/types';
import { resolveBillingState, type BillingState } from './billing-settings';
import { BillingStorage } from './billing-storage';
import { countOpenPremiumReservations } from './premium-allowance';

export interface Billing {
  state: BillingState;
  /** The billing tables; undefined when billing is off. */
  storage: BillingStorage | undefined;
  /** The `GET /v1/plans` response. */
  listPlans(): PlansResponse;
}

/**
 * Opens billing over the app's second database connection and logs
 * whether it is on. `database` is undefined for a :memory: database.
 */
export function openBilling(options: {
  config: Pick<Config, 'stripe' | 'database'>;
  plans: Readonly<Record<string, Plan>>;
  store: Store;
  logger: Logger;
  database: SpendDatabase | undefined;
}): Billing {
  const { logger, plans } = options;
  if (options.database !== undefined) {
    countOpenPremiumReservations(options.store, options.database);
  }
  let state = resolveBillingState(options.config, plans);
  if (state.enabled && options.database === undefined) {
    state = {
      enabled: false,
      reasons: ['the billing tables need a second database connection'],
    };
  }
  if (state.enabled) {
    logger.info(
      {
        plansForSale: Object.values(plans)
          .filter((plan) => plan.stripePriceId !== undefined)
          .map((plan) => plan.name),
        stripeHost: state.settings.api.host,
      },
      'paid plans are on: Stripe checkout and webhooks at /v1/billing/',
    );
  } else {
    logger.info(
      { reasons: state.reasons },
      `paid plans are off: ${state.reasons.join('; ')}`,
    );
  }

  const storage =
    state.enabled && options.database !== undefined
      ? new BillingStorage(options.database)
      : undefined;
  const billingEnabled = state.enabled;
  return {
    state,
    storage,
    listPlans: () => ({
      billingEnabled,
      plans: orderPlans(plans).map((plan) => ({
        name: plan.name,
        allowanceTokens: plan.allowanceTokens,
        premiumWeight: plan.premiumWeight,
        premiumAllowanceTokens: readPremiumAllowance(plan) ?? null,
        requestsPerMinute: plan.requestsPerMinute,
        tokensPerMinute: plan.tokensPerMinute,
        priceLabel: (plan as PlanTerms).priceLabel ?? null,
        purchasable: billingEnabled && plan.stripePriceId !== undefined,
      })),
    }),
  };
}
