/**
 * What each Stripe webhook event does to an install's plan:
 *
 * - `checkout.session.completed`: a paid checkout starts the subscription
 *   and moves the install to the plan its price sells, at once.
 * - `invoice.paid`: a renewal, so the subscription stays active and the
 *   install stays on its plan. It also upgrades the install when it
 *   arrives before the checkout event, or when the checkout is paid later.
 * - `invoice.payment_failed`: the subscription is marked past_due and the
 *   plan is kept, because Stripe retries the payment and sends
 *   `customer.subscription.deleted` when it gives up.
 * - `customer.subscription.deleted`: the subscription ends and the install
 *   goes back to the free plan (or to another live subscription's plan).
 * - `customer.subscription.updated`: follows a change made in Stripe. An
 *   active subscription moves the install to the plan of its new price,
 *   a past_due or unpaid one is marked past_due, and a cancelled one ends.
 *
 * A cancelled subscription stays cancelled: a late renewal or failure for
 * it changes nothing. Unknown installs and prices are logged and ignored.
 */
import type { z } from 'zod';
import type { Logger } from '../logger';
import type { Plan, Store } from '../store/types';
import type { BillingStorage } from './billing-storage';
import {
  activateSubscription,
  endSubscription,
  markPastDue,
} from './subscription-changes';
import {
  BILLING_METADATA,
  checkoutSessionSchema,
  invoiceSchema,
  readInvoiceSubscription,
  subscriptionSchema,
} from './stripe-events';

/** The fields of a verified Stripe event that the handler reads. */
export interface StripeEventEnvelope {
  id: string;
  type: string;
  data: { object: unknown };
}

export interface StripeEventServices {
  storage: BillingStorage;
  store: Store;
  plans: Readonly<Record<string, Plan>>;
  logger: Logger;
}

export interface HandledStripeEvent {
  /** True when the event was handled before; nothing changed this time. */
  duplicate: boolean;
  /** The event's effect, as recorded in billing_events. */
  outcome: string;
}

/**
 * Handles a verified event once: an event id seen before changes nothing.
 * The effects are applied before the event is recorded, and each effect
 * is idempotent, so a delivery that fails half-way (and is retried by
 * Stripe) or two deliveries at once end in the same state. Throws when
 * the database fails, so the route responds 500 and Stripe retries.
 */
export async function handleStripeEvent(
  event: StripeEventEnvelope,
  services: StripeEventServices,
  now: Date,
): Promise<HandledStripeEvent> {
  const recorded = await services.storage.findEventOutcome(event.id);
  if (recorded !== undefined) {
    services.logger.info(
      { eventId: event.id, type: event.type, outcome: recorded },
      'stripe event already handled',
    );
    return { duplicate: true, outcome: recorded };
  }

  const outcome = await applyEvent(event, services, now);
  await services.storage.recordEvent({
    eventId: event.id,
    type: event.type,
    outcome,
    now,
  });
  services.logger.info(
    { eventId: event.id, type: event.type, outcome },
    'stripe event handled',
  );
  return { duplicate: false, outcome };
}

async function applyEvent(
  event: StripeEventEnvelope,
  services: StripeEventServices,
  now: Date,
): Promise<string> {
  switch (event.type) {
    case 'checkout.session.completed':
    case 'checkout.session.async_payment_succeeded':
      return completeCheckout(event, services, now);
    case 'invoice.paid':
      return renewSubscription(event, services, now);
    case 'invoice.payment_failed':
      return recordFailedPayment(event, services, now);
    case 'customer.subscription.deleted':
      return cancelSubscription(event, services, now);
    case 'customer.subscription.updated':
      return updateSubscription(event, services, now);
    default:
      return `ignored: ${event.type} is not handled`;
  }
}

async function completeCheckout(
  event: StripeEventEnvelope,
  services: StripeEventServices,
  now: Date,
): Promise<string> {
  const session = parseObject(event, checkoutSessionSchema, services.logger);
  if (session === undefined) {
    return 'ignored: malformed checkout session';
  }
  if (session.mode !== undefined && session.mode !== 'subscription') {
    return `ignored: a ${session.mode} checkout, not a subscription`;
  }
  if (session.subscription === undefined) {
    return 'ignored: the checkout session has no subscription';
  }
  // Paid later (a bank debit, say): invoice.paid or the async success
  // event does the upgrade.
  if (session.payment_status === 'unpaid') {
    return 'waiting: the checkout is not paid yet';
  }

  return activateSubscription(
    {
      event,
      subscriptionId: session.subscription,
      installId:
        session.client_reference_id ??
        session.metadata[BILLING_METADATA.installId],
      priceId: session.metadata[BILLING_METADATA.priceId],
      customerId: session.customer,
      periodEnd: undefined,
      verb: 'upgraded',
    },
    services,
    now,
  );
}

async function renewSubscription(
  event: StripeEventEnvelope,
  services: StripeEventServices,
  now: Date,
): Promise<string> {
  const invoice = parseObject(event, invoiceSchema, services.logger);
  if (invoice === undefined) {
    return 'ignored: malformed invoice';
  }
  const billed = readInvoiceSubscription(invoice);
  if (billed.subscriptionId === undefined) {
    return 'ignored: the invoice bills no subscription';
  }
  const known = await services.storage.findSubscription(billed.subscriptionId);

  return activateSubscription(
    {
      event,
      subscriptionId: billed.subscriptionId,
      installId:
        known?.installId ?? billed.metadata[BILLING_METADATA.installId],
      priceId:
        billed.priceId ??
        known?.priceId ??
        billed.metadata[BILLING_METADATA.priceId],
      customerId: invoice.customer ?? known?.customerId,
      periodEnd: billed.periodEnd,
      verb: 'renewed',
    },
    services,
    now,
  );
}

async function recordFailedPayment(
  event: StripeEventEnvelope,
  services: StripeEventServices,
  now: Date,
): Promise<string> {
  const invoice = parseObject(event, invoiceSchema, services.logger);
  if (invoice === undefined) {
    return 'ignored: malformed invoice';
  }
  const billed = readInvoiceSubscription(invoice);
  return markPastDue(event, billed.subscriptionId, services, now);
}

async function cancelSubscription(
  event: StripeEventEnvelope,
  services: StripeEventServices,
  now: Date,
): Promise<string> {
  const subscription = parseObject(event, subscriptionSchema, services.logger);
  if (subscription === undefined) {
    return 'ignored: malformed subscription';
  }
  return endSubscription(event, subscription, services, now);
}

async function updateSubscription(
  event: StripeEventEnvelope,
  services: StripeEventServices,
  now: Date,
): Promise<string> {
  const subscription = parseObject(event, subscriptionSchema, services.logger);
  if (subscription === undefined) {
    return 'ignored: malformed subscription';
  }
  const status = subscription.status ?? 'unknown';
  if (status === 'canceled' || status === 'incomplete_expired') {
    return endSubscription(event, subscription, services, now);
  }
  if (status === 'past_due' || status === 'unpaid') {
    return markPastDue(event, subscription.id, services, now);
  }
  if (status !== 'active' && status !== 'trialing') {
    return `ignored: subscription status ${status}`;
  }

  const known = await services.storage.findSubscription(subscription.id);
  return activateSubscription(
    {
      event,
      subscriptionId: subscription.id,
      installId:
        known?.installId ?? subscription.metadata[BILLING_METADATA.installId],
      priceId:
        subscription.items?.data[0]?.price ??
        known?.priceId ??
        subscription.metadata[BILLING_METADATA.priceId],
      customerId: subscription.customer ?? known?.customerId,
      periodEnd: undefined,
      verb: 'updated',
    },
    services,
    now,
  );
}

function parseObject<Schema extends z.ZodType>(
  event: StripeEventEnvelope,
  schema: Schema,
  logger: Logger,
): z.output<Schema> | undefined {
  const result = schema.safeParse(event.data.object);
  if (result.success) {
    return result.data;
  }
  logger.warn(
    {
      eventId: event.id,
      type: event.type,
      field: result.error.issues[0]?.path.join('.'),
    },
    'stripe event object has an unexpected shape; ignored',
  );
  return undefined;
}
