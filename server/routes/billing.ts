/**
 * The plans and billing routes:
 *
 * - `GET /v1/plans` (public): every plan with what it includes, and
 *   whether this backend sells them.
 * - `POST /v1/billing/checkout` (install token): a Stripe Checkout
 *   session for the next plan up, or the plan named in the body.
 * - `POST /v1/billing/webhook` (Stripe signature): subscription events,
 *   verified on the raw body before anything is parsed.
 */
import type { Hono, MiddlewareHandler } from 'hono';
import { checkoutRequestSchema } from '../../lib/protocol';
import type { Billing } from '../billing/index';
import { createCheckout } from '../billing/create-checkout';
import { handleStripeEvent } from '../billing/handle-stripe-event';
import type { AppEnv, AppServices } from '../http/context';
import { HttpError } from '../http/errors';
import { parseJsonBody } from '../http/parse-body';
import { enforceRateLimit, HOUR_MS } from '../limits/enforce';

/**
 * Checkout sessions one install may create per hour. Each one is a Stripe
 * API call, so a stuck or hostile client cannot run up Stripe's own rate
 * limits for the whole backend.
 */
export const CHECKOUTS_PER_HOUR = 10;

/** Adds the plans and billing routes to the app. */
export function addBillingRoutes(
  app: Hono<AppEnv>,
  services: AppServices,
  authenticate: MiddlewareHandler<AppEnv>,
  billing: Billing,
): void {
  app.get('/v1/plans', (context) => context.json(billing.listPlans()));

  app.post('/v1/billing/checkout', authenticate, async (context) => {
    const { state, storage } = billing;
    if (!state.enabled || storage === undefined) {
      throw billingOff(state.enabled ? [] : state.reasons);
    }
    const installId = context.get('installId') as string;
    await enforceRateLimit({
      limiter: services.rateLimiter,
      key: `billing-checkout:${installId}`,
      limit: CHECKOUTS_PER_HOUR,
      cost: 1,
      windowMs: HOUR_MS,
      now: services.now(),
      reason: `Too many checkout pages: an install may open ${CHECKOUTS_PER_HOUR} per hour`,
    });
    const body = await parseJsonBody(context, checkoutRequestSchema, {
      allowEmpty: true,
    });
    const install = await services.store.getInstall(installId);
    if (install === undefined) {
      throw new HttpError({
        status: 401,
        code: 'unauthorized',
        message:
          'This install is not registered with this backend. Register again with POST /v1/installs.',
      });
    }

    const checkout = await createCheckout({
      stripe: state.stripe,
      settings: state.settings,
      plans: services.plans,
      storage,
      logger: services.logger,
      install,
      plan: body.plan,
    });
    return context.json(checkout, 201);
  });

  app.post('/v1/billing/webhook', async (context) => {
    const { state, storage } = billing;
    if (!state.enabled || storage === undefined) {
      throw billingOff(state.enabled ? [] : state.reasons);
    }
    // The signature covers the exact bytes Stripe sent, so the body is
    // read as text and verified before it is parsed.
    const payload = await context.req.text();
    const signature = context.req.header('stripe-signature');
    if (signature === undefined || signature === '') {
      throw invalidSignature('The request has no Stripe-Signature header.');
    }
    let event;
    try {
      event = state.stripe.webhooks.constructEvent(
        payload,
        signature,
        state.settings.webhookSecret,
      );
    } catch (error) {
      services.logger.warn(
        {
          requestId: context.get('requestId'),
          reason: (error as Error).message,
        },
        'stripe webhook rejected: the signature does not verify',
      );
      throw invalidSignature(
        'The Stripe-Signature header does not match the body and STRIPE_WEBHOOK_SECRET.',
        error,
      );
    }

    const handled = await handleStripeEvent(
      event,
      {
        storage,
        store: services.store,
        plans: services.plans,
        logger: services.logger,
      },
      services.now(),
    );
    return context.json({ received: true, ...handled });
  });
}

function billingOff(reasons: string[]): HttpError {
  return new HttpError({
    status: 404,
    code: 'not_found',
    message: `Paid plans are off on this backend${reasons.length > 0 ? ` (${reasons.join('; ')})` : ''}. The developer turns them on with the Stripe settings.`,
  });
}

function invalidSignature(message: string, cause?: unknown): HttpError {
  return new HttpError({
    status: 400,
    code: 'invalid_request',
    message: `${message} Nothing was changed.`,
    cause,
  });
}
