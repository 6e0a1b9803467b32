/**
 * The premium allowance over real HTTP: once a plan's premium answers have
 * taken its premium allowance for the period, every way of asking for
 * premium (the premium tier outright, the router, a retry) is answered by
 * the cheap model with the reason, until a plan without the limit.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { routeQuestion } from '../../lib/router';
import { startFakeProvider, type FakeProvider } from '../fake-provider/index';
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
  WEBHOOK_SECRET,
  writeBillingPlans,
} from '../fake-stripe/billing-fixture';
import {
  createTempDirectory,
  findEvent,
  postChat,
  readChatEvents,
  registerInstall,
  startTestBackend,
  type TestBackend,
} from './helpers';
import { createTestSchema, type TestSchema } from './databases';

const HARD_QUESTION =
  'Prove step by step that the algorithm below is correct:\n```\nfunction f(x) { return x; }\n```';
// The prompts here are about 100 tokens and the output cap is 100, so a
// premium answer holds at most 5 × (100 + 100) = 1000 and charges the
// fake's 5 × (50 + 50) = 500. This share fits two such answers and leaves
// too little for the smallest third one, 5 × (100 + 64).
const FREE_PLAN = { ...BILLING_PLANS.free, premiumAllowanceTokens: 1_500 };
const PREMIUM_LIMIT = FREE_PLAN.premiumAllowanceTokens;
const OUTPUT_CAP = 100;

const DATABASES = [
  { name: 'SQLite', postgres: false },
  { name: 'PostgreSQL', postgres: true },
] as const;

describe.each(DATABASES)('premium allowance on $name', ({ postgres }) => {
  let temp: ReturnType<typeof createTempDirectory>;
  let fake: FakeProvider;
  let stripe: FakeStripe;
  let schema: TestSchema | undefined;
  let backend: TestBackend;

  beforeEach(async () => {
    temp = createTempDirectory();
    fake = await startFakeProvider();
    stripe = await startFakeStripe();
    schema = postgres ? createTestSchema() : undefined;
    backend = await startTestBackend(temp.directory, {
      ...createBillingEnv({
        stripeBaseUrl: stripe.baseUrl,
        plansFile: writeBillingPlans(temp.directory, {
          ...BILLING_PLANS,
          free: FREE_PLAN,
        }),
      }),
      OPENAI_API_KEY: 'test-openai-key',
      OPENAI_BASE_URL: fake.openaiBaseUrl,
      TOKENWISE_CHEAP_MODEL: 'openai:gpt-5-mini',
      TOKENWISE_PREMIUM_MODEL: 'openai:gpt-5.5',
      TOKENWISE_MAX_OUTPUT_TOKENS: String(OUTPUT_CAP),
      TOKENWISE_CACHE_TTL_SECONDS: '0',
      ...(schema ? { TOKENWISE_DATABASE_URL: schema.url } : {}),
    });
  });

  afterEach(async () => {
    await backend.stop({ drainTimeoutMs: 1_000 });
    await stripe.close();
    await fake.close();
    await schema?.drop();
    temp.remove();
  });

  async function ask(
    token: string,
    question: string,
    tier: 'auto' | 'cheap' | 'premium',
  ) {
    fake.enqueue({
      type: 'answer',
      text: 'An answer.',
      usage: { inputTokens: 50, outputTokens: 50 },
    });
    const events = await readChatEvents(
      await postChat(backend.url, token, { question, tier }),
    );
    return {
      route: findEvent(events, 'route'),
      usage: findEvent(events, 'usage'),
      model: (fake.requests.at(-1)?.body as { model: string }).model,
    };
  }

  async function premiumCharged(installId: string): Promise<number> {
    const entries = await backend.store.listLedgerEntries(installId);
    return entries
      .filter((entry) => entry.kind === 'settle' && entry.tier === 'premium')
      .reduce((total, entry) => total + entry.allowanceTokens, 0);
  }

  it('sends premium questions to the cheap model once it is used', async () => {
    const install = await registerInstall(backend.url);

    const first = await ask(install.token, 'Question one?', 'premium');
    const second = await ask(install.token, 'Question two?', 'premium');
    const third = await ask(install.token, 'Question three?', 'premium');

    // 5 × (50 + 50) = 500 per premium answer leaves 500 after the second.
    expect([first.route.tier, second.route.tier]).toEqual([
      'premium',
      'premium',
    ]);
    expect(third.route.tier).toBe('cheap');
    expect(third.model).toBe('gpt-5-mini');
    expect(third.usage.weight).toBe(1);
    expect(third.route.reasons).toEqual([
      'the premium tier was requested',
      "the free plan's premium allowance of 1500 tokens has 500 left, too few for this question",
    ]);
  });

  it('holds against every way of asking for premium', async () => {
    expect(routeQuestion({ question: HARD_QUESTION, history: [] }).tier).toBe(
      'premium',
    );
    const install = await registerInstall(backend.url);
    // Premium answers until the share cannot cover another; the bound
    // stops a broken check before the whole allowance is spent.
    for (let asked = 0; asked < 10; asked++) {
      const filler = await ask(
        install.token,
        `Filler ${Math.random()}?`,
        'premium',
      );
      if (filler.route.tier === 'cheap') {
        break;
      }
    }
    const usedAtLimit = await premiumCharged(install.installId);

    const attempts = [
      await ask(install.token, HARD_QUESTION, 'auto'),
      await ask(install.token, HARD_QUESTION, 'premium'),
      await ask(install.token, 'Name a river.', 'premium'),
    ];

    expect(attempts.map((attempt) => attempt.route.tier)).toEqual([
      'cheap',
      'cheap',
      'cheap',
    ]);
    expect(await premiumCharged(install.installId)).toBe(usedAtLimit);
    // The last premium answer was capped to the share, not past it.
    expect(usedAtLimit).toBeGreaterThan(0);
    expect(usedAtLimit).toBeLessThanOrEqual(PREMIUM_LIMIT);
    // Cheap questions still answer.
    expect((await ask(install.token, 'Hi!', 'cheap')).route.tier).toBe('cheap');
  });

  it('counts a premium answer still streaming', async () => {
    const install = await registerInstall(backend.url);
    fake.enqueue({
      type: 'answer',
      text: 'A slow answer of several words in a row.',
      chunkDelayMs: 150,
      usage: { inputTokens: 50, outputTokens: 50 },
    });
    const streaming = await postChat(backend.url, install.token, {
      question: 'A slow one?',
      tier: 'premium',
    });
    expect(streaming.status).toBe(200);

    // Nothing is settled yet, but the open reservation holds
    // 5 × (input + output cap), about 1000 of the 1500 premium tokens, and
    // leaves too few for a second premium answer.
    const concurrent = await ask(install.token, 'Meanwhile?', 'premium');
    const slow = findEvent(await readChatEvents(streaming), 'route');

    expect(slow.tier).toBe('premium');
    expect(concurrent.route.tier).toBe('cheap');
    expect(concurrent.route.reasons.at(-1)).toContain('premium allowance');
  });

  it('lifts the limit when the install moves to a plan without one', async () => {
    const install = await registerInstall(backend.url);
    await ask(install.token, 'Question one?', 'premium');
    await ask(install.token, 'Question two?', 'premium');
    expect(
      (await ask(install.token, 'Question three?', 'premium')).route.tier,
    ).toBe('cheap');

    await postWebhook(
      backend.url,
      buildEvent(
        'checkout.session.completed',
        buildCompletedSession({
          installId: install.installId,
          metadata: { tokenwise_price_id: 'price_test_pro' },
          subscriptionId: createStripeId('sub'),
          customerId: createStripeId('cus'),
        }),
      ),
      WEBHOOK_SECRET,
    );

    const upgraded = await ask(install.token, 'Question four?', 'premium');
    expect(upgraded.route.tier).toBe('premium');
    expect(upgraded.usage.weight).toBe(BILLING_PLANS.pro.premiumWeight);
  });
});
