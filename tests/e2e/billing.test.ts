/**
 * Paid plans end to end. A free install uses up its premium share and runs
 * low, and the popup offers the next plan. Its button opens the fake
 * Stripe's checkout page in a new tab, the signed webhook arrives, and the
 * open popup shows the new plan and allowance within seconds.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  REPOSITORY_ROOT,
  startBackend,
  type RunningBackend,
} from '../../scripts/harness/backend';
import {
  askInSidePanel,
  launchExtension,
  readHud,
  writeSettings,
  type ExtensionBrowser,
} from '../../scripts/harness/browser';
import { fetchUsage, readInstallToken } from '../../scripts/harness/install';
import { startFakeProvider, type FakeProvider } from '../fake-provider';
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
  WEBHOOK_SECRET,
  writeBillingPlans,
} from '../fake-stripe/billing-fixture';

const SCREENSHOTS = join(REPOSITORY_ROOT, 'test-results/screenshots');
const ALLOWANCE = BILLING_PLANS.free.allowanceTokens;

describe('paid plans in Chromium', () => {
  let provider: FakeProvider;
  let stripe: FakeStripe;
  let backend: RunningBackend;
  let browser: ExtensionBrowser;
  let panel: Page;

  beforeAll(async () => {
    provider = await startFakeProvider();
    stripe = await startFakeStripe();
    const dataDir = mkdtempSync(join(tmpdir(), 'tokenwise-e2e-'));
    backend = await startBackend({
      port: inject('backendPort'),
      dataDir,
      logFile: join(REPOSITORY_ROOT, 'test-results/e2e-billing-backend.log'),
      env: {
        OPENAI_API_KEY: 'test-openai-key',
        OPENAI_BASE_URL: provider.openaiBaseUrl,
        GEMINI_API_KEY: 'test-gemini-key',
        GEMINI_BASE_URL: provider.geminiBaseUrl,
        TOKENWISE_MAX_OUTPUT_TOKENS: '64',
        ...createBillingEnv({
          stripeBaseUrl: stripe.baseUrl,
          // Premium at weight 1, so a few premium answers fit the free
          // allowance before the premium share runs out.
          plansFile: writeBillingPlans(dataDir, {
            ...BILLING_PLANS,
            free: { ...BILLING_PLANS.free, premiumWeight: 1 },
          }),
        }),
      },
    });
    browser = await launchExtension({ extensionDir: inject('extensionDir') });
    await writeSettings(browser, { routing: 'cheap' });
    panel = await browser.openSidePanel();
  });

  afterAll(async () => {
    await browser?.close();
    await backend?.stop();
    await stripe?.close();
    await provider?.close();
  });

  it('sends premium to cheap past the share', async () => {
    const tiers: string[] = [];
    for (const river of ['Seine', 'Rhine', 'Danube', 'Loire', 'Elbe']) {
      await panel.getByTestId('premium-toggle').check();
      const shown = await askInSidePanel(panel, `Where does the ${river} end?`);
      tiers.push(shown.tier);
      if (shown.tier === 'cheap') {
        break;
      }
    }

    expect(tiers[0]).toBe('premium');
    expect(tiers.at(-1)).toBe('cheap');
    const reasons = panel.getByTestId('answer-reasons').last();
    // The share is refused outright once used up, or earlier when what is
    // left cannot cover the smallest premium answer.
    expect(await reasons.innerText()).toMatch(
      /the free plan's premium allowance of 600 tokens (is used up until \d{4}-\d{2}-\d{2}|has \d+ left, too few for this question)/,
    );
  });

  it('sells the next plan from the popup', async () => {
    // A long question in a new conversation leaves about 5% of the free
    // allowance.
    await panel.getByTestId('new-conversation').click();
    const token = await readInstallToken(browser.serviceWorker);
    const before = await fetchUsage(backend.url, token);
    if (before.remaining >= ALLOWANCE * 0.1) {
      const words = before.remaining - ALLOWANCE * 0.05 - 120;
      const long = `${'apple '.repeat(Math.max(1, Math.floor(words)))}: how many apples?`;
      expect((await askInSidePanel(panel, long)).status).toBe('done');
    }
    const low = await fetchUsage(backend.url, token);
    expect(low.plan).toBe('free');
    expect(low.remaining).toBeLessThan(ALLOWANCE * 0.1);

    // The popup offers the next plan with what it adds.
    const popup = await browser.openPopup();
    const hud = await readHud(popup);
    expect(hud.allowance).toBe(ALLOWANCE);
    expect(await popup.getByTestId('meter').getAttribute('data-level')).toBe(
      'critical',
    );
    const includes = popup.getByTestId('plan-includes');
    await includes.waitFor();
    expect(await includes.innerText()).toContain('600');
    const next = popup.getByTestId('next-plan');
    expect(await next.getAttribute('data-plan')).toBe('pro');
    expect(await next.innerText()).toContain('2,000,000');
    const checkout = popup.getByTestId('checkout');
    expect(await checkout.innerText()).toBe('Upgrade to pro, $5 a month');
    expect(await popup.getByTestId('upgrade').count()).toBe(0);
    await popup.screenshot({
      path: join(SCREENSHOTS, 'popup-upgrade-offer.png'),
      fullPage: true,
    });

    // The button opens Stripe Checkout (the fake) in a new tab.
    const [checkoutTab] = await Promise.all([
      browser.context.waitForEvent('page'),
      checkout.click(),
    ]);
    await checkoutTab.waitForLoadState();
    const session = stripe.sessions[0];
    expect(session?.client_reference_id).toBe(low.installId);
    expect(session?.price).toBe(PRO_PRICE);
    expect(checkoutTab.url()).toBe(session?.url);
    expect(await checkoutTab.locator('h1').innerText()).toBe(
      `Pay for ${PRO_PRICE}`,
    );
    await checkoutTab.close();

    // Stripe reports the payment; the open popup follows within seconds.
    const response = await postWebhook(
      backend.url,
      buildEvent(
        'checkout.session.completed',
        buildCompletedSession({
          sessionId: session?.id,
          installId: session?.client_reference_id ?? null,
          metadata: session?.metadata ?? {},
          subscriptionId: createStripeId('sub'),
          customerId: createStripeId('cus'),
        }),
      ),
      WEBHOOK_SECRET,
    );
    expect(response.status).toBe(200);

    await expect
      .poll(() => popup.getByTestId('allowance').getAttribute('data-value'), {
        timeout: 10_000,
      })
      .toBe(String(BILLING_PLANS.pro.allowanceTokens));
    expect(await popup.getByTestId('plan').innerText()).toContain('pro');
    expect(await popup.getByTestId('meter').getAttribute('data-level')).toBe(
      'ok',
    );
    await expect
      .poll(() => popup.getByTestId('next-plan').getAttribute('data-plan'))
      .toBe('team');
    await popup.screenshot({
      path: join(SCREENSHOTS, 'popup-after-upgrade.png'),
      fullPage: true,
    });

    // The side panel names the new plan too.
    const notice = panel.getByTestId('plan-notice');
    await expect
      .poll(() => notice.locator('summary').innerText())
      .toContain('pro');
  });
});
