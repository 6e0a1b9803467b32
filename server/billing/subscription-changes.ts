/**
 * The changes that Stripe events make to subscriptions and install plans.
 * Each one is idempotent, so a repeated or concurrent delivery of the same
 * event ends in the same state.
 */
import { FREE_PLAN, findPlanByPrice } from '../plans';
import type { Plan } from '../store/types';
import type { SubscriptionRecord } from './billing-storage';
import type {
  StripeEventEnvelope,
  StripeEventServices,
} from './handle-stripe-event';
import { BILLING_METADATA, type SubscriptionFields } from './stripe-events';

/**
 * Marks a subscription active on its plan and moves the install to that
 * plan. A cancelled subscription, an unknown install or an unknown price
 * is logged and left alone.
 */
export async function activateSubscription(
  request: {
    event: StripeEventEnvelope;
    subscriptionId: string;
    installId: string | undefined;
    priceId: string | undefined;
    customerId: string | undefined;
    periodEnd: Date | undefined;
    verb: 'upgraded' | 'renewed' | 'updated';
  },
  services: StripeEventServices,
  now: Date,
): Promise<string> {
  const { event, subscriptionId, installId, priceId } = request;
  const known = await services.storage.findSubscription(subscriptionId);
  if (known?.status === 'canceled') {
    return `ignored: subscription ${subscriptionId} is already cancelled`;
  }

  const install =
    installId === undefined
      ? undefined
      : await services.store.getInstall(installId);
  if (install === undefined) {
    services.logger.warn(
      { eventId: event.id, type: event.type, installId, subscriptionId },
      'stripe event for an unknown install; ignored',
    );
    return `ignored: unknown install ${installId ?? '(none)'}`;
  }
  const plan =
    priceId === undefined
      ? undefined
      : findPlanByPrice(services.plans, priceId);
  if (plan === undefined) {
    services.logger.warn(
      { eventId: event.id, type: event.type, installId, priceId },
      'stripe event for a price no plan sells; ignored',
    );
    return `ignored: unknown price ${priceId ?? '(none)'}`;
  }

  await services.storage.saveSubscription(
    {
      subscriptionId,
      installId: install.id,
      customerId: request.customerId ?? known?.customerId,
      plan: plan.name,
      priceId: plan.stripePriceId ?? priceId ?? '',
      status: 'active',
      currentPeriodEnd: request.periodEnd ?? known?.currentPeriodEnd,
    },
    now,
  );
  const changed = await movePlan(install.id, plan.name, services, now);
  return changed
    ? `${request.verb}: ${install.plan} to ${plan.name}`
    : `${request.verb}: stays on ${plan.name}`;
}

/**
 * Marks a subscription past_due and keeps its plan, because Stripe retries
 * the payment and cancels the subscription when it gives up.
 */
export async function markPastDue(
  event: StripeEventEnvelope,
  subscriptionId: string | undefined,
  services: StripeEventServices,
  now: Date,
): Promise<string> {
  const known =
    subscriptionId === undefined
      ? undefined
      : await services.storage.findSubscription(subscriptionId);
  if (known === undefined) {
    services.logger.warn(
      { eventId: event.id, type: event.type, subscriptionId },
      'failed payment for an unknown subscription; ignored',
    );
    return `ignored: unknown subscription ${subscriptionId ?? '(none)'}`;
  }
  if (known.status === 'canceled') {
    return `ignored: subscription ${known.subscriptionId} is already cancelled`;
  }

  await services.storage.saveSubscription(
    { ...known, status: 'past_due' },
    now,
  );
  services.logger.warn(
    {
      eventId: event.id,
      installId: known.installId,
      subscriptionId: known.subscriptionId,
      plan: known.plan,
    },
    'a subscription payment failed; the plan stays until Stripe cancels the subscription',
  );
  return `past_due: ${known.plan} kept until Stripe cancels`;
}

/**
 * Marks a subscription cancelled and moves its install to the plan of
 * another live subscription, or back to the free plan.
 */
export async function endSubscription(
  event: StripeEventEnvelope,
  subscription: SubscriptionFields,
  services: StripeEventServices,
  now: Date,
): Promise<string> {
  const known = await services.storage.findSubscription(subscription.id);
  const installId =
    known?.installId ?? subscription.metadata[BILLING_METADATA.installId];
  const install =
    installId === undefined
      ? undefined
      : await services.store.getInstall(installId);
  if (install === undefined) {
    services.logger.warn(
      {
        eventId: event.id,
        type: event.type,
        installId,
        subscriptionId: subscription.id,
      },
      'cancelled subscription of an unknown install; ignored',
    );
    return `ignored: unknown install ${installId ?? '(none)'}`;
  }

  const priceId =
    known?.priceId ??
    subscription.items?.data[0]?.price ??
    subscription.metadata[BILLING_METADATA.priceId] ??
    '';
  await services.storage.saveSubscription(
    {
      subscriptionId: subscription.id,
      installId: install.id,
      customerId: known?.customerId ?? subscription.customer,
      plan:
        known?.plan ??
        findPlanByPrice(services.plans, priceId)?.name ??
        FREE_PLAN,
      priceId,
      status: 'canceled',
      currentPeriodEnd: known?.currentPeriodEnd,
    },
    now,
  );

  // Another live subscription keeps its plan; otherwise back to free.
  const remaining = await services.storage.listLiveSubscriptions(install.id);
  const next = pickPlanOfLiveSubscription(remaining, services.plans);
  const changed = await movePlan(install.id, next, services, now);
  return changed
    ? `cancelled: ${install.plan} to ${next}`
    : `cancelled: stays on ${next}`;
}

function pickPlanOfLiveSubscription(
  subscriptions: SubscriptionRecord[],
  plans: Readonly<Record<string, Plan>>,
): string {
  const live = subscriptions.find((record) => plans[record.plan] !== undefined);
  return live?.plan ?? FREE_PLAN;
}

/** Moves an install to a plan unless it is on it; returns true when it moved. */
async function movePlan(
  installId: string,
  plan: string,
  services: StripeEventServices,
  now: Date,
): Promise<boolean> {
  const install = await services.store.getInstall(installId);
  if (install === undefined || install.plan === plan) {
    return false;
  }
  await services.store.changePlan({ installId, plan, now });
  return true;
}
