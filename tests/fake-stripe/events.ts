/**
 * Stripe webhook events for tests, shaped like the API version the SDK
 * pins, and signed with the SDK's own test header helper, so the backend
 * verifies them exactly as it verifies Stripe's.
 */
import { randomBytes } from 'node:crypto';
import Stripe from 'stripe';

// Signing needs no key and makes no request.
const signer = new Stripe('sk_test_signing_only');

/** A Stripe event envelope around one object. */
export interface FakeStripeEvent {
  id: string;
  object: 'event';
  api_version: string;
  created: number;
  livemode: false;
  pending_webhooks: number;
  request: { id: null; idempotency_key: null };
  type: string;
  data: { object: Record<string, unknown> };
}

/** Returns a new id with Stripe's prefix, such as `evt_...`. */
export function createStripeId(prefix: string): string {
  return `${prefix}_${randomBytes(10).toString('hex')}`;
}

/** Wraps an object in an event of `type`. */
export function buildEvent(
  type: string,
  object: Record<string, unknown>,
): FakeStripeEvent {
  return {
    id: createStripeId('evt'),
    object: 'event',
    api_version: Stripe.API_VERSION,
    created: Math.floor(Date.now() / 1000),
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
    data: { object },
  };
}

/** A completed, paid subscription checkout session. */
export function buildCompletedSession(options: {
  sessionId?: string;
  installId: string | null;
  metadata: Record<string, string>;
  subscriptionId: string;
  customerId: string;
  paymentStatus?: 'paid' | 'unpaid';
}): Record<string, unknown> {
  return {
    id: options.sessionId ?? createStripeId('cs_test'),
    object: 'checkout.session',
    mode: 'subscription',
    status: 'complete',
    payment_status: options.paymentStatus ?? 'paid',
    client_reference_id: options.installId,
    customer: options.customerId,
    subscription: options.subscriptionId,
    metadata: options.metadata,
  };
}

/** An invoice of a subscription, paid or failed. */
export function buildInvoice(options: {
  subscriptionId: string;
  customerId: string;
  priceId: string;
  /** End of the billed period, in seconds since the epoch. */
  periodEnd: number;
  metadata?: Record<string, string>;
  status?: 'paid' | 'open';
}): Record<string, unknown> {
  return {
    id: createStripeId('in'),
    object: 'invoice',
    customer: options.customerId,
    status: options.status ?? 'paid',
    billing_reason: 'subscription_cycle',
    parent: {
      type: 'subscription_details',
      quote_details: null,
      subscription_details: {
        subscription: options.subscriptionId,
        metadata: options.metadata ?? {},
      },
    },
    lines: {
      object: 'list',
      has_more: false,
      data: [
        {
          id: createStripeId('il'),
          object: 'line_item',
          period: {
            start: options.periodEnd - 30 * 86_400,
            end: options.periodEnd,
          },
          pricing: {
            type: 'price_details',
            price_details: {
              price: options.priceId,
              product: createStripeId('prod'),
            },
          },
        },
      ],
    },
  };
}

/** A subscription, as `customer.subscription.deleted` carries it. */
export function buildSubscription(options: {
  subscriptionId: string;
  customerId: string;
  priceId: string;
  metadata?: Record<string, string>;
  status?: string;
}): Record<string, unknown> {
  return {
    id: options.subscriptionId,
    object: 'subscription',
    customer: options.customerId,
    status: options.status ?? 'canceled',
    metadata: options.metadata ?? {},
    items: {
      object: 'list',
      data: [
        {
          id: createStripeId('si'),
          object: 'subscription_item',
          price: { id: options.priceId, object: 'price' },
        },
      ],
    },
  };
}

/**
 * Signs a payload as Stripe would for an endpoint secret, at `timestamp`
 * (seconds since the epoch; now when omitted).
 */
export function signPayload(
  payload: string,
  secret: string,
  timestamp?: number,
): string {
  return signer.webhooks.generateTestHeaderString({
    payload,
    secret,
    ...(timestamp === undefined ? {} : { timestamp }),
  });
}

/** Posts an event to the backend's webhook endpoint, signed with `secret`. */
export function postWebhook(
  backendUrl: string,
  event: FakeStripeEvent | string,
  secret: string,
  signature?: string,
): Promise<Response> {
  const payload = typeof event === 'string' ? event : JSON.stringify(event);
  return fetch(`${backendUrl}/v1/billing/webhook`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'stripe-signature': signature ?? signPayload(payload, secret),
    },
    body: payload,
  });
}
