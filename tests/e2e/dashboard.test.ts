/**
 * The spend dashboard in Chromium against a real backend whose ledger is
 * seeded through the store: sign-in, figures that match the ledger, the
 * self-refresh, no Content-Security-Policy violation, and a screenshot.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  chromium,
  type Browser,
  type BrowserContext,
  type Page,
} from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPOSITORY_ROOT } from '../../scripts/harness/backend';
import { CHROMIUM_PATH } from '../../scripts/harness/browser';
import {
  buildStandardSeed,
  SEED_ENV,
  seedLedger,
  sumSeededCost,
  TEST_ADMIN_KEY,
  type SeedEvent,
} from '../server/dashboard-seed';
import {
  createTempDirectory,
  startTestBackend,
  type TestBackend,
} from '../server/helpers';

const SCREENSHOTS = join(REPOSITORY_ROOT, 'test-results/screenshots');

let temp: ReturnType<typeof createTempDirectory>;
let backend: TestBackend;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let events: SeedEvent[];
const policyViolations: string[] = [];

beforeAll(async () => {
  temp = createTempDirectory();
  backend = await startTestBackend(temp.directory, {
    ...SEED_ENV,
    TOKENWISE_DAILY_BUDGET_USD: '2',
    TOKENWISE_MONTHLY_BUDGET_USD: '40',
  });
  events = buildStandardSeed(new Date());
  await seedLedger(backend.store, events);

  browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
  });
  context = await browser.newContext({
    viewport: { width: 1280, height: 900 },
  });
  page = await context.newPage();
  page.on('console', (message) => {
    if (message.text().includes('Content Security Policy')) {
      policyViolations.push(message.text());
    }
  });
});

afterAll(async () => {
  await browser?.close();
  await backend?.stop({ drainTimeoutMs: 1_000 });
  temp?.remove();
});

function formatUsd(value: number): string {
  return `$${value.toFixed(value >= 100 ? 0 : 2)}`;
}

function startOfUtcDay(date: Date): Date {
  return new Date(
    Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()),
  );
}

async function readFigure(name: string): Promise<string> {
  return (await page.locator(`[data-figure="${name}"]`).textContent()) ?? '';
}

describe('spend dashboard in Chromium', () => {
  it('rejects a visitor without the admin key', async () => {
    await page.goto(`${backend.url}/dashboard`);

    await expect(page.locator('#admin-key').isVisible()).resolves.toBe(true);
    const status = await page.evaluate(async () => {
      const response = await fetch('/dashboard/api/summary');
      return response.status;
    });
    expect(status).toBe(401);

    await page.fill('#admin-key', 'wrong-key-0123456789abcdefghij');
    await page.click('button[type="submit"]');
    await expect(page.locator('.error').textContent()).resolves.toContain(
      'The admin key is wrong',
    );
    expect(await page.locator('#cards').count()).toBe(0);
  });

  it('shows figures that match the ledger', async () => {
    await page.fill('#admin-key', TEST_ADMIN_KEY);
    await page.click('button[type="submit"]');
    await page.waitForSelector('[data-figure="today-spend"]');
    const today = startOfUtcDay(new Date());
    const month = new Date(
      Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), 1),
    );

    expect(page.url()).toBe(`${backend.url}/dashboard`);
    expect(await readFigure('today-spend')).toBe(
      formatUsd(sumSeededCost(events, today)),
    );
    expect(await readFigure('month-spend')).toBe(
      formatUsd(sumSeededCost(events, month)),
    );
    const answers = events.filter(
      (event) => event.kind === 'settle' && event.at >= month,
    ).length;
    const hits = events.filter(
      (event) => event.kind === 'cache_hit' && event.at >= month,
    ).length;
    expect(await readFigure('cache-hit-rate')).toBe(
      `${((hits / (hits + answers)) * 100).toFixed(1)}%`,
    );
    expect(await readFigure('active-installs')).toBe(
      String(
        new Set(
          events
            .filter((event) => event.kind !== 'release' && event.at >= today)
            .map((event) => event.installId),
        ).size,
      ),
    );
    const firstInstall = page
      .locator('[data-table="installs"] tbody tr')
      .first();
    expect(await firstInstall.textContent()).toContain('install-alpha');
    expect(await page.locator('[data-budget="daily"]').textContent()).toContain(
      'of $2.00',
    );
    expect(await page.locator('#hourly-chart svg rect').count()).toBe(48);
  });

  it('keeps the session cookie from scripts', async () => {
    const cookies = await context.cookies();
    const session = cookies.find(
      (cookie) => cookie.name === 'tokenwise_dashboard',
    );

    expect(session?.httpOnly).toBe(true);
    expect(session?.sameSite).toBe('Strict');
    expect(await page.evaluate(() => document.cookie)).toBe('');
    expect(page.url()).not.toContain(TEST_ADMIN_KEY);
  });

  it('refreshes when the ledger changes', async () => {
    const before = await readFigure('today-spend');
    const extra: SeedEvent[] = Array.from({ length: 10 }, () => ({
      kind: 'settle',
      installId: 'install-gamma',
      tier: 'premium',
      model: 'openai:gpt-5.5',
      inputTokens: 10_000,
      cachedInputTokens: 2_000,
      outputTokens: 1_000,
      costUsd: 0.071,
      at: new Date(),
    }));
    await seedLedger(backend.store, extra);
    events.push(...extra);
    const expected = formatUsd(
      sumSeededCost(events, startOfUtcDay(new Date())),
    );

    await page.waitForFunction(
      (value) =>
        document.querySelector('[data-figure="today-spend"]')?.textContent ===
        value,
      expected,
      { timeout: 15_000 },
    );
    expect(expected).not.toBe(before);
  });

  it('saves a screenshot without policy violations', async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({
      path: join(SCREENSHOTS, 'dashboard.png'),
      fullPage: true,
    });

    expect(policyViolations).toEqual([]);
  });
});
