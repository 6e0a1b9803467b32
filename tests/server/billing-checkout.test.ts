/**
 * Plans and checkout over real HTTP against the fake Stripe API: the
 * public plan list, Checkout sessions created with the SDK's form body,
 * the checks before Stripe is called, Stripe failures, and a backend
 * without Stripe keys.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  checkoutResponseSchema,
  plansResponseSchema,
} from '../../lib/protocol';
import { BILLING_METADATA } from '../../server/billing/stripe-events';
import { CHECKOUTS_PER_HOUR } from '../../server/routes/billing';
import { loadConfig } from '../../server/config';
import {
  buildCompletedSession,
  buildEvent,
  createStripeId,
  postWebhook,
  startFakeStripe,
  type FakeStripe,
} from '../fake-stripe/index';
import {
  BILLING_PLANS,
  createBillingEnv,
  PRO_PRICE,
  STRIPE_SECRET_KEY,
  TEAM_PRICE,
  WEBHOOK_SECRET,
  writeBillingPlans,
} from '../fake-stripe/billing-fixture';
import {
  createTempDirectory,
  readErrorBody,
  registerInstall,
  startTestBackend,
  type TestBackend,
} from './helpers';

let temp: ReturnType<typeof createTempDirectory>;
let stripe: FakeStripe;
let backend: TestBackend | undefined;

beforeEach(async () => {
  temp = createTempDirectory();
  stripe = await startFakeStripe();
});

afterEach(async () => {
  await backend?.stop({ drainTimeoutMs: 1_000 });
  backend = undefined;
  await stripe.close();
  temp.remove();
});

async function startWithStripe(
  env: Record<string, string> = {},
): Promise<TestBackend> {
  backend = await startTestBackend(temp.directory, {
    ...createBillingEnv({
      stripeBaseUrl: stripe.baseUrl,
      plansFile: writeBillingPlans(temp.directory),
    }),
    ...env,
  });
  return backend;
}

function postCheckout(
  server: TestBackend,
  token: string | undefined,
  body?: unknown,
): Promise<Response> {
  return fetch(`${server.url}/v1/billing/checkout`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

describe('GET /v1/plans', () => {
  it('lists every plan, smallest first, with what it includes', async () => {
    const server = await startWithStripe();

    const response = await fetch(`${server.url}/v1/plans`);

    expect(response.status).toBe(200);
    const body = plansResponseSchema.parse(await response.json());
    expect(body.billingEnabled).toBe(true);
    expect(body.plans).toEqual([
      {
        name: 'free',
        allowanceTokens: BILLING_PLANS.free.allowanceTokens,
        premiumWeight: 5,
        premiumAllowanceTokens: 600,
        requestsPerMinute: 100,
        tokensPerMinute: 1_000_000,
        priceLabel: null,
        purchasable: false,
      },
      {
        name: 'pro',
        allowanceTokens: BILLING_PLANS.pro.allowanceTokens,
        premiumWeight: 3,
        premiumAllowanceTokens: null,
        requestsPerMinute: 100,
        tokensPerMinute: 1_000_000,
        priceLabel: '$5 a month',
        purchasable: true,
      },
      expect.objectContaining({ name: 'team', purchasable: true }),
    ]);
    // The price ids stay on the backend.
    expect(JSON.stringify(body)).not.toContain(PRO_PRICE);
  });

  it('gives the built-in free plan a quarter of its allowance for premium', async () => {
    backend = await startTestBackend(temp.directory, {
      TOKENWISE_FREE_TOKENS: '10000',
    });

    const body = plansResponseSchema.parse(
      await (await fetch(`${backend.url}/v1/plans`)).json(),
    );

    expect(body).toEqual({
      billingEnabled: false,
      plans: [
        expect.objectContaining({
          name: 'free',
          premiumAllowanceTokens: 2_500,
          purchasable: false,
        }),
      ],
    });
  });
});

describe('POST /v1/billing/checkout', () => {
  it('creates a subscription checkout for the next plan up', async () => {
    const server = await startWithStripe();
    const install = await registerInstall(server.url);

    const response = await postCheckout(server, install.token);

    expect(response.status).toBe(201);
    const body = checkoutResponseSchema.parse(await response.json());
    const session = stripe.sessions[0];
    expect(body).toEqual({
      url: session?.url,
      sessionId: session?.id,
      plan: 'pro',
    });
    expect(body.url.startsWith(`${stripe.baseUrl}/pay/cs_test_`)).toBe(true);

    const request = stripe.requests[0];
    expect(request?.method).toBe('POST');
    expect(request?.path).toBe('/v1/checkout/sessions');
    expect(request?.headers['content-type']).toBe(
      'application/x-www-form-urlencoded',
    );
    expect(request?.headers.authorization).toBe(`Bearer ${STRIPE_SECRET_KEY}`);
    expect(request?.headers['stripe-version']).toMatch(/^\d{4}-\d{2}-\d{2}/);
    const metadata = {
      [BILLING_METADATA.installId]: install.installId,
      [BILLING_METADATA.plan]: 'pro',
      [BILLING_METADATA.priceId]: PRO_PRICE,
    };
    expect(request?.form).toEqual({
      mode: 'subscription',
      line_items: [{ price: PRO_PRICE, quantity: '1' }],
      client_reference_id: install.installId,
      metadata,
      subscription_data: { metadata },
      success_url: 'http://127.0.0.1:9/paid?session={CHECKOUT_SESSION_ID}',
      cancel_url: 'http://127.0.0.1:9/cancelled',
    });
  });

  it('sells the plan named in the body', async () => {
    const server = await startWithStripe();
    const install = await registerInstall(server.url);

    const response = await postCheckout(server, install.token, {
      plan: 'team',
    });

    expect(response.status).toBe(201);
    expect(stripe.sessions[0]?.price).toBe(TEAM_PRICE);
  });

  it.each([
    {
      case: 'an unknown plan',
      plan: 'gold',
      message: 'No plan is named "gold"',
    },
    { case: 'a plan not for sale', plan: 'free', message: 'is not for sale' },
    { case: 'an empty plan name', plan: '', message: 'plan' },
  ])(
    'answers 400 for $case without calling Stripe',
    async ({ plan, message }) => {
      const server = await startWithStripe();
      const install = await registerInstall(server.url);

      const response = await postCheckout(server, install.token, { plan });

      expect(response.status).toBe(400);
      const body = await readErrorBody(response);
      expect(body.error.code).toBe('invalid_request');
      expect(body.error.message).toContain(message);
      expect(body.error.field).toBe('plan');
      expect(stripe.requests).toHaveLength(0);
    },
  );

  it('answers 401 without an install token', async () => {
    const server = await startWithStripe();

    const response = await postCheckout(server, undefined);

    expect(response.status).toBe(401);
    expect(stripe.requests).toHaveLength(0);
  });

  it('refuses a second checkout for an install that already pays', async () => {
    const server = await startWithStripe();
    const install = await registerInstall(server.url);
    await postCheckout(server, install.token);
    const session = stripe.sessions[0];
    await postWebhook(
      server.url,
      buildEvent(
        'checkout.session.completed',
        buildCompletedSession({
          sessionId: session?.id,
          installId: install.installId,
          metadata: session?.metadata ?? {},
          subscriptionId: createStripeId('sub'),
          customerId: createStripeId('cus'),
        }),
      ),
      WEBHOOK_SECRET,
    );

    const again = await postCheckout(server, install.token, { plan: 'pro' });
    const larger = await postCheckout(server, install.token);

    expect(again.status).toBe(400);
    expect((await readErrorBody(again)).error.message).toContain(
      'already on the pro plan',
    );
    expect(larger.status).toBe(400);
    expect((await readErrorBody(larger)).error.message).toContain(
      'already pays for the pro plan',
    );
    expect(stripe.requests).toHaveLength(1);
  });

  it('limits checkout pages per install and hour', async () => {
    const server = await startWithStripe();
    const install = await registerInstall(server.url);
    const other = await registerInstall(server.url);

    const statuses: number[] = [];
    for (let attempt = 0; attempt <= CHECKOUTS_PER_HOUR; attempt++) {
      statuses.push((await postCheckout(server, install.token)).status);
    }
    const rejected = await postCheckout(server, install.token);
    const otherInstall = await postCheckout(server, other.token);

    expect(statuses.slice(0, CHECKOUTS_PER_HOUR)).toEqual(
      Array(CHECKOUTS_PER_HOUR).fill(201),
    );
    expect(statuses[CHECKOUTS_PER_HOUR]).toBe(429);
    expect(rejected.status).toBe(429);
    expect(rejected.headers.get('retry-after')).toMatch(/^\d+$/);
    expect((await readErrorBody(rejected)).error.code).toBe('rate_limited');
    expect(otherInstall.status).toBe(201);
    expect(stripe.requests).toHaveLength(CHECKOUTS_PER_HOUR + 1);
  });

  it('answers 502 with a sentence when Stripe refuses', async () => {
    const server = await startWithStripe();
    const install = await registerInstall(server.url);
    stripe.failNext(400, 'No such price: price_test_pro');

    const response = await postCheckout(server, install.token);

    expect(response.status).toBe(502);
    const body = await readErrorBody(response);
    expect(body.error.code).toBe('upstream_failed');
    expect(body.error.message).toContain('No such price');
    expect(body.error.message).toContain('Try again');
  });

  it('never writes the Stripe keys to the log', async () => {
    const server = await startWithStripe();
    const install = await registerInstall(server.url);
    stripe.failNext(400);
    await postCheckout(server, install.token);

    expect(server.logs.text()).not.toContain(STRIPE_SECRET_KEY);
    expect(server.logs.text()).not.toContain(WEBHOOK_SECRET);
  });
});

describe('a backend without Stripe keys', () => {
  it('says why billing is off at start and answers a clear error', async () => {
    backend = await startTestBackend(temp.directory, {
      TOKENWISE_PLANS_FILE: writeBillingPlans(temp.directory),
    });
    const install = await registerInstall(backend.url);

    const checkout = await postCheckout(backend, install.token);
    const webhook = await postWebhook(backend.url, '{}', WEBHOOK_SECRET);
    const plans = plansResponseSchema.parse(
      await (await fetch(`${backend.url}/v1/plans`)).json(),
    );

    const startLine = backend.logs.lines.find((line) =>
      String(line.msg).startsWith('paid plans are off'),
    );
    expect(startLine?.msg).toBe(
      'paid plans are off: STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET, TOKENWISE_CHECKOUT_SUCCESS_URL, TOKENWISE_CHECKOUT_CANCEL_URL are unset',
    );
    expect(checkout.status).toBe(404);
    const body = await readErrorBody(checkout);
    expect(body.error.message).toContain('Paid plans are off on this backend');
    expect(body.error.message).toContain('STRIPE_SECRET_KEY');
    expect(webhook.status).toBe(404);
    expect(plans.billingEnabled).toBe(false);
    expect(plans.plans.every((plan) => !plan.purchasable)).toBe(true);
  });

  it('reaches Stripe on its own host unless a test says otherwise', () => {
    const config = loadConfig({ env: {}, envFile: false, cwd: temp.directory });

    expect(config.stripe.api).toEqual({
      protocol: 'https',
      host: 'api.stripe.com',
      port: 443,
    });
  });

  it.each([
    ['TOKENWISE_STRIPE_API_BASE', 'http://127.0.0.1:1/v1', 'must have no path'],
    ['TOKENWISE_STRIPE_API_BASE', 'ftp://127.0.0.1', 'http'],
    ['TOKENWISE_FREE_PREMIUM_TOKENS', 'lots', 'whole number or unlimited'],
    ['TOKENWISE_CHECKOUT_SUCCESS_URL', 'paid.html', 'absolute URL'],
  ])('rejects %s = %s', (name, value, message) => {
    expect(() =>
      loadConfig({
        env: { [name]: value },
        envFile: false,
        cwd: temp.directory,
      }),
    ).toThrow(message);
  });
});
