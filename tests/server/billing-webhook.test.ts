/**
 * Stripe webhooks over real HTTP, on SQLite and on PostgreSQL: events
 * signed with the SDK's test header helper move installs between plans in
 * the ledger at once; replays, bad signatures, unknown installs and
 * unknown prices change nothing.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { usageResponseSchema } from '../../lib/protocol';
import { openSpendDatabase } from '../../server/dashboard/database';
import { BILLING_METADATA } from '../../server/billing/stripe-events';
import {
  buildCompletedSession,
  buildEvent,
  buildInvoice,
  buildSubscription,
  createStripeId,
  postWebhook,
  signPayload,
  startFakeStripe,
  type FakeStripe,
} from '../fake-stripe/index';
import {
  BILLING_PLANS,
  createBillingEnv,
  PRO_PRICE,
  TEAM_PRICE,
  WEBHOOK_SECRET,
  writeBillingPlans,
} from '../fake-stripe/billing-fixture';
import { createTestSchema, type TestSchema } from './databases';
import {
  createTempDirectory,
  registerInstall,
  startTestBackend,
  type TestBackend,
} from './helpers';

interface Install {
  installId: string;
  token: string;
}

const DATABASES = [
  { name: 'SQLite', postgres: false },
  { name: 'PostgreSQL', postgres: true },
] as const;

describe.each(DATABASES)('Stripe webhooks on $name', ({ postgres }) => {
  let temp: ReturnType<typeof createTempDirectory>;
  let stripe: FakeStripe;
  let schema: TestSchema | undefined;
  let backend: TestBackend | undefined;
  let env: Record<string, string>;

  beforeEach(async () => {
    temp = createTempDirectory();
    stripe = await startFakeStripe();
    schema = postgres ? createTestSchema() : undefined;
    env = {
      ...createBillingEnv({
        stripeBaseUrl: stripe.baseUrl,
        plansFile: writeBillingPlans(temp.directory),
      }),
      // The answer cache's default is a SQLite file, which needs no test here.
      ...(schema
        ? {
            TOKENWISE_DATABASE_URL: schema.url,
            TOKENWISE_CACHE_TTL_SECONDS: '0',
          }
        : {}),
    };
    backend = await startTestBackend(temp.directory, env);
  });

  afterEach(async () => {
    await backend?.stop({ drainTimeoutMs: 1_000 });
    backend = undefined;
    await stripe.close();
    await schema?.drop();
    temp.remove();
  });

  function server(): TestBackend {
    if (!backend) {
      throw new Error('The backend is not running.');
    }
    return backend;
  }

  async function getUsage(install: Install) {
    const response = await fetch(`${server().url}/v1/usage`, {
      headers: { authorization: `Bearer ${install.token}` },
    });
    expect(response.status).toBe(200);
    return usageResponseSchema.parse(await response.json());
  }

  /** Buys a plan through the checkout route and returns the completed event. */
  async function checkOut(install: Install, plan = 'pro') {
    const response = await fetch(`${server().url}/v1/billing/checkout`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${install.token}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ plan }),
    });
    expect(response.status).toBe(201);
    const session = stripe.sessions.at(-1);
    if (!session) {
      throw new Error('The fake Stripe created no session.');
    }
    const subscriptionId = createStripeId('sub');
    const customerId = createStripeId('cus');
    const event = buildEvent(
      'checkout.session.completed',
      buildCompletedSession({
        sessionId: session.id,
        installId: session.client_reference_id,
        metadata: session.metadata,
        subscriptionId,
        customerId,
      }),
    );
    return {
      event,
      subscriptionId,
      customerId,
      metadata: session.subscriptionMetadata,
    };
  }

  async function send(event: Parameters<typeof postWebhook>[1]) {
    const response = await postWebhook(server().url, event, WEBHOOK_SECRET);
    const body = (await response.json()) as {
      received?: boolean;
      duplicate?: boolean;
      outcome?: string;
      error?: { code: string; message: string };
    };
    return { status: response.status, body };
  }

  async function countEvents(): Promise<number> {
    const database = openSpendDatabase(server().config.database);
    try {
      const rows = await database.all<{ count: number }>(
        'SELECT COUNT(*) AS count FROM billing_events',
      );
      return Number(rows[0]?.count ?? 0);
    } finally {
      await database.close();
    }
  }

  async function readSubscription(subscriptionId: string) {
    const database = openSpendDatabase(server().config.database);
    try {
      const rows = await database.all<{
        status: string;
        plan: string;
        current_period_end: number | null;
      }>(
        'SELECT status, plan, current_period_end FROM billing_subscriptions WHERE subscription_id = ?',
        [subscriptionId],
      );
      return rows[0];
    } finally {
      await database.close();
    }
  }

  it('upgrades the install in the ledger at once on checkout', async () => {
    const install = await registerInstall(server().url);
    const before = await getUsage(install);
    const { event } = await checkOut(install);

    const { status, body } = await send(event);

    expect(status).toBe(200);
    expect(body).toMatchObject({
      received: true,
      duplicate: false,
      outcome: 'upgraded: free to pro',
    });
    const after = await getUsage(install);
    expect(after.plan).toBe('pro');
    expect(after.allowance).toBe(BILLING_PLANS.pro.allowanceTokens);
    expect(after.premiumWeight).toBe(BILLING_PLANS.pro.premiumWeight);
    expect(after.periodStart).toBe(before.periodStart);
    const entries = await server().store.listLedgerEntries(install.installId);
    expect(entries.at(-1)).toMatchObject({
      kind: 'reset',
      allowanceTokens: BILLING_PLANS.pro.allowanceTokens,
    });
  });

  it('keeps the plan and records the period on renewal', async () => {
    const install = await registerInstall(server().url);
    const { event, subscriptionId, customerId, metadata } =
      await checkOut(install);
    await send(event);
    const periodEnd = Math.floor(Date.now() / 1000) + 30 * 86_400;

    const { status, body } = await send(
      buildEvent(
        'invoice.paid',
        buildInvoice({
          subscriptionId,
          customerId,
          priceId: PRO_PRICE,
          periodEnd,
          metadata,
        }),
      ),
    );

    expect(status).toBe(200);
    expect(body.outcome).toBe('renewed: stays on pro');
    expect((await getUsage(install)).plan).toBe('pro');
    expect(await readSubscription(subscriptionId)).toMatchObject({
      status: 'active',
      plan: 'pro',
      current_period_end: periodEnd * 1000,
    });
    const resets = (
      await server().store.listLedgerEntries(install.installId)
    ).filter((entry) => entry.kind === 'reset');
    // The registration's period and the upgrade; the renewal adds none.
    expect(resets).toHaveLength(2);
  });

  it('upgrades from the first invoice when it arrives before the checkout event', async () => {
    const install = await registerInstall(server().url);
    const { event, subscriptionId, customerId, metadata } =
      await checkOut(install);

    const invoice = await send(
      buildEvent(
        'invoice.paid',
        buildInvoice({
          subscriptionId,
          customerId,
          priceId: PRO_PRICE,
          periodEnd: Math.floor(Date.now() / 1000) + 86_400,
          metadata,
        }),
      ),
    );
    const checkout = await send(event);

    expect(invoice.body.outcome).toBe('renewed: free to pro');
    expect(checkout.body.outcome).toBe('upgraded: stays on pro');
    expect((await getUsage(install)).plan).toBe('pro');
  });

  it('waits for the payment of an unpaid checkout', async () => {
    const install = await registerInstall(server().url);
    const { event } = await checkOut(install);
    const object = event.data.object as Record<string, unknown>;
    object.payment_status = 'unpaid';

    const { body } = await send(event);

    expect(body.outcome).toBe('waiting: the checkout is not paid yet');
    expect((await getUsage(install)).plan).toBe('free');
  });

  it('returns to the free plan on cancellation, keeping what was used', async () => {
    const install = await registerInstall(server().url);
    const { event, subscriptionId, customerId, metadata } =
      await checkOut(install);
    await send(event);

    const { body } = await send(
      buildEvent(
        'customer.subscription.deleted',
        buildSubscription({
          subscriptionId,
          customerId,
          priceId: PRO_PRICE,
          metadata,
        }),
      ),
    );

    expect(body.outcome).toBe('cancelled: pro to free');
    const usage = await getUsage(install);
    expect(usage.plan).toBe('free');
    expect(usage.allowance).toBe(BILLING_PLANS.free.allowanceTokens);
    expect(await readSubscription(subscriptionId)).toMatchObject({
      status: 'canceled',
    });

    // A renewal that arrives late never revives a cancelled subscription.
    const late = await send(
      buildEvent(
        'invoice.paid',
        buildInvoice({
          subscriptionId,
          customerId,
          priceId: PRO_PRICE,
          periodEnd: Math.floor(Date.now() / 1000) + 86_400,
          metadata,
        }),
      ),
    );
    expect(late.body.outcome).toBe(
      `ignored: subscription ${subscriptionId} is already cancelled`,
    );
    expect((await getUsage(install)).plan).toBe('free');
  });

  it('keeps the plan on a failed payment until Stripe cancels', async () => {
    const install = await registerInstall(server().url);
    const { event, subscriptionId, customerId, metadata } =
      await checkOut(install);
    await send(event);

    const failed = await send(
      buildEvent(
        'invoice.payment_failed',
        buildInvoice({
          subscriptionId,
          customerId,
          priceId: PRO_PRICE,
          periodEnd: Math.floor(Date.now() / 1000) + 86_400,
          metadata,
          status: 'open',
        }),
      ),
    );

    expect(failed.status).toBe(200);
    expect(failed.body.outcome).toBe('past_due: pro kept until Stripe cancels');
    expect((await getUsage(install)).plan).toBe('pro');
    expect(await readSubscription(subscriptionId)).toMatchObject({
      status: 'past_due',
    });
    expect(
      server().logs.lines.some((line) =>
        String(line.msg).startsWith('a subscription payment failed'),
      ),
    ).toBe(true);

    const cancelled = await send(
      buildEvent(
        'customer.subscription.deleted',
        buildSubscription({ subscriptionId, customerId, priceId: PRO_PRICE }),
      ),
    );
    expect(cancelled.body.outcome).toBe('cancelled: pro to free');
    expect((await getUsage(install)).plan).toBe('free');
  });

  it('follows a plan change made in Stripe', async () => {
    const install = await registerInstall(server().url);
    const { event, subscriptionId, customerId, metadata } =
      await checkOut(install);
    await send(event);

    const { body } = await send(
      buildEvent(
        'customer.subscription.updated',
        buildSubscription({
          subscriptionId,
          customerId,
          priceId: TEAM_PRICE,
          metadata,
          status: 'active',
        }),
      ),
    );

    expect(body.outcome).toBe('updated: pro to team');
    expect((await getUsage(install)).plan).toBe('team');
    expect(await readSubscription(subscriptionId)).toMatchObject({
      status: 'active',
      plan: 'team',
    });
  });

  it.each([
    {
      status: 'unpaid',
      outcome: 'past_due: pro kept until Stripe cancels',
      plan: 'pro',
    },
    { status: 'canceled', outcome: 'cancelled: pro to free', plan: 'free' },
    {
      status: 'paused',
      outcome: 'ignored: subscription status paused',
      plan: 'pro',
    },
  ])('handles an update to $status', async ({ status, outcome, plan }) => {
    const install = await registerInstall(server().url);
    const { event, subscriptionId, customerId, metadata } =
      await checkOut(install);
    await send(event);

    const { body } = await send(
      buildEvent(
        'customer.subscription.updated',
        buildSubscription({
          subscriptionId,
          customerId,
          priceId: PRO_PRICE,
          metadata,
          status,
        }),
      ),
    );

    expect(body.outcome).toBe(outcome);
    expect((await getUsage(install)).plan).toBe(plan);
  });

  it('changes nothing when the same event arrives again, even after a restart', async () => {
    const install = await registerInstall(server().url);
    const { event, subscriptionId, customerId } = await checkOut(install);
    await send(event);
    const cancel = buildEvent(
      'customer.subscription.deleted',
      buildSubscription({ subscriptionId, customerId, priceId: PRO_PRICE }),
    );
    await send(cancel);
    const entries = await server().store.listLedgerEntries(install.installId);

    // Replaying the upgrade must not undo the cancellation.
    const replay = await send(event);
    expect(replay.status).toBe(200);
    expect(replay.body).toMatchObject({
      duplicate: true,
      outcome: 'upgraded: free to pro',
    });

    await server().stop({ drainTimeoutMs: 1_000 });
    backend = await startTestBackend(temp.directory, env);
    const afterRestart = await send(event);
    expect(afterRestart.body.duplicate).toBe(true);

    expect((await getUsage(install)).plan).toBe('free');
    expect(
      await server().store.listLedgerEntries(install.installId),
    ).toHaveLength(entries.length);
    expect(await countEvents()).toBe(2);
  });

  it.each([
    {
      case: 'a wrong secret',
      sign: (payload: string) => signPayload(payload, 'whsec_wrong'),
    },
    {
      case: 'another body',
      sign: (payload: string) => signPayload(`${payload} `, WEBHOOK_SECRET),
    },
    {
      case: 'an old timestamp',
      sign: (payload: string) => signPayloadAt(payload, -3_600),
    },
    { case: 'no signature', sign: () => '' },
  ])('answers 400 and changes nothing for $case', async ({ sign }) => {
    const install = await registerInstall(server().url);
    const { event } = await checkOut(install);
    const payload = JSON.stringify(event);

    const response = await postWebhook(
      server().url,
      payload,
      WEBHOOK_SECRET,
      sign(payload),
    );

    expect(response.status).toBe(400);
    const body = (await response.json()) as {
      error: { code: string; message: string };
    };
    expect(body.error.code).toBe('invalid_request');
    expect(body.error.message).toContain('Nothing was changed.');
    expect((await getUsage(install)).plan).toBe('free');
    expect(await countEvents()).toBe(0);

    // The genuine delivery still works afterwards.
    expect((await send(event)).body.outcome).toBe('upgraded: free to pro');
  });

  it('logs and answers 200 for an unknown install or price', async () => {
    const install = await registerInstall(server().url);
    const unknownInstall = buildEvent(
      'checkout.session.completed',
      buildCompletedSession({
        installId: 'no-such-install',
        metadata: { [BILLING_METADATA.priceId]: PRO_PRICE },
        subscriptionId: createStripeId('sub'),
        customerId: createStripeId('cus'),
      }),
    );
    const unknownPrice = buildEvent(
      'checkout.session.completed',
      buildCompletedSession({
        installId: install.installId,
        metadata: { [BILLING_METADATA.priceId]: 'price_nobody_sells' },
        subscriptionId: createStripeId('sub'),
        customerId: createStripeId('cus'),
      }),
    );
    const malformed = buildEvent('checkout.session.completed', {
      mode: 'subscription',
    });
    const unhandled = buildEvent('customer.created', {
      id: createStripeId('cus'),
    });

    const results = [
      await send(unknownInstall),
      await send(unknownPrice),
      await send(unhandled),
      await send(malformed),
    ];

    expect(results.map((result) => result.status)).toEqual([
      200, 200, 200, 200,
    ]);
    expect(results.map((result) => result.body.outcome)).toEqual([
      'ignored: unknown install no-such-install',
      'ignored: unknown price price_nobody_sells',
      'ignored: customer.created is not handled',
      'ignored: malformed checkout session',
    ]);
    expect((await getUsage(install)).plan).toBe('free');
    const warnings = server()
      .logs.lines.filter((line) => line.level === 40)
      .map((line) => line.msg);
    expect(warnings).toEqual(
      expect.arrayContaining([
        'stripe event for an unknown install; ignored',
        'stripe event for a price no plan sells; ignored',
        'stripe event object has an unexpected shape; ignored',
      ]),
    );
  });

  it('moves to the plan another live subscription pays for on cancellation', async () => {
    const install = await registerInstall(server().url);
    const first = await checkOut(install, 'pro');
    await send(first.event);
    // A second subscription that Stripe reports directly (bought elsewhere).
    const teamSubscription = createStripeId('sub');
    await send(
      buildEvent(
        'invoice.paid',
        buildInvoice({
          subscriptionId: teamSubscription,
          customerId: first.customerId,
          priceId: TEAM_PRICE,
          periodEnd: Math.floor(Date.now() / 1000) + 86_400,
          metadata: { [BILLING_METADATA.installId]: install.installId },
        }),
      ),
    );
    expect((await getUsage(install)).plan).toBe('team');

    const { body } = await send(
      buildEvent(
        'customer.subscription.deleted',
        buildSubscription({
          subscriptionId: first.subscriptionId,
          customerId: first.customerId,
          priceId: PRO_PRICE,
        }),
      ),
    );

    expect(body.outcome).toBe('cancelled: stays on team');
    expect((await getUsage(install)).plan).toBe('team');
  });
});

/** Signs a payload correctly, but `offsetSeconds` from now. */
function signPayloadAt(payload: string, offsetSeconds: number): string {
  return signPayload(
    payload,
    WEBHOOK_SECRET,
    Math.floor(Date.now() / 1000) + offsetSeconds,
  );
}
