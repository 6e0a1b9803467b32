import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  REPOSITORY_ROOT,
  findFreePort,
  startBackend,
  type RunningBackend,
} from '../../scripts/harness/backend';
import {
  askInSidePanel,
  buildExtension,
  launchExtension,
  readHud,
  writeSettings,
  type ExtensionBrowser,
} from '../../scripts/harness/browser';
import { fetchUsage, readInstallToken } from '../../scripts/harness/install';
import { startFakeProvider, type FakeProvider } from '../fake-provider';

const SCREENSHOTS = join(REPOSITORY_ROOT, 'test-results/screenshots');
const ALLOWANCE = 3_000;
// Never opened by the tests: the button's address is only read.
const UPGRADE_URL = 'http://127.0.0.1:9/upgrade';

const ARTICLE = `<!doctype html><html><head><title>The Seine</title></head><body>
<nav>Home | About | Contact</nav>
<article><h1>The Seine</h1>
${'<p>The Seine is a river that flows through Paris and into the English Channel at Le Havre. Its basin covers much of northern France.</p>'.repeat(12)}
</article><footer>Copyright</footer></body></html>`;

async function screenshotBothSchemes(page: Page, name: string): Promise<void> {
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.screenshot({
      path: join(SCREENSHOTS, `${name}-${scheme}.png`),
      fullPage: true,
    });
  }
  await page.emulateMedia({ colorScheme: 'light' });
}

async function readBadge(browser: ExtensionBrowser): Promise<string> {
  return browser.serviceWorker.evaluate(() =>
    (
      globalThis as unknown as {
        chrome: { action: { getBadgeText(details: object): Promise<string> } };
      }
    ).chrome.action.getBadgeText({}),
  );
}

describe('popup HUD, page questions and the allowance in Chromium', () => {
  let provider: FakeProvider;
  let backend: RunningBackend;
  let browser: ExtensionBrowser;
  let articleServer: Server;
  let articleUrl: string;
  let panel: Page;

  beforeAll(async () => {
    provider = await startFakeProvider();
    const port = await findFreePort();
    // A build with an upgrade page, allowed to read pages on 127.0.0.1
    // without the permission prompt a headless browser cannot answer.
    const extensionDir = await buildExtension({
      backendUrl: `http://127.0.0.1:${port}`,
      outDir: join(REPOSITORY_ROOT, 'test-results/e2e-build-hud'),
      env: {
        WXT_UPGRADE_URL: UPGRADE_URL,
        TOKENWISE_TEST_HOST_PERMISSIONS: 'http://127.0.0.1/*',
      },
    });
    backend = await startBackend({
      port,
      dataDir: mkdtempSync(join(tmpdir(), 'tokenwise-e2e-')),
      logFile: join(REPOSITORY_ROOT, 'test-results/e2e-hud-backend.log'),
      env: {
        OPENAI_API_KEY: 'test-openai-key',
        OPENAI_BASE_URL: provider.openaiBaseUrl,
        GEMINI_API_KEY: 'test-gemini-key',
        GEMINI_BASE_URL: provider.geminiBaseUrl,
        // The questions here share one conversation. Keeping every turn
        // whole keeps running-summary calls out of the scripted answers.
        TOKENWISE_RECENT_TURNS: '50',
        TOKENWISE_FREE_TOKENS: String(ALLOWANCE),
        TOKENWISE_MAX_OUTPUT_TOKENS: '64',
      },
    });
    articleServer = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      response.end(ARTICLE);
    });
    await new Promise<void>((resolve) =>
      articleServer.listen(0, '127.0.0.1', resolve),
    );
    articleUrl = `http://127.0.0.1:${(articleServer.address() as AddressInfo).port}/seine`;

    browser = await launchExtension({ extensionDir });
    await writeSettings(browser, { routing: 'cheap' });
    panel = await browser.openSidePanel();
  });

  afterAll(async () => {
    await browser?.close();
    await backend?.stop();
    await provider?.close();
    articleServer?.close();
  });

  it('shows the figures, savings and the week chart', async () => {
    const first = await askInSidePanel(panel, 'What is the capital of France?');
    expect(first.status).toBe('done');
    const repeat = await askInSidePanel(
      panel,
      'What is the capital of France?',
    );
    expect(repeat.fromCache).toBe(true);

    const popup = await browser.openPopup();
    const hud = await readHud(popup);
    const usage = await fetchUsage(
      backend.url,
      await readInstallToken(browser.serviceWorker),
    );
    expect(hud.remaining).toBe(usage.remaining);
    expect(hud.allowance).toBe(ALLOWANCE);
    expect(hud.used).toBe(usage.used);
    expect(await popup.getByTestId('plan').innerText()).toContain(usage.plan);

    const meter = popup.getByTestId('meter');
    expect(await meter.getAttribute('role')).toBe('meter');
    expect(Number(await meter.getAttribute('aria-valuenow'))).toBe(
      usage.remaining,
    );
    expect(Number(await meter.getAttribute('aria-valuemax'))).toBe(ALLOWANCE);
    expect(await meter.getAttribute('data-level')).toBe('ok');

    const questionsLeft = popup.getByTestId('questions-left');
    await expect
      .poll(() => questionsLeft.getAttribute('data-value'))
      .toBe(String(Math.floor(usage.remaining / first.charged)));
    expect(
      Number(await popup.getByTestId('saved-cache').getAttribute('data-value')),
    ).toBe(first.charged);
    expect(
      Number(
        await popup.getByTestId('saved-routing').getAttribute('data-value'),
      ),
    ).toBe(Math.round(first.charged * (usage.premiumWeight - 1)));

    const days = popup.getByTestId('chart-day');
    expect(await days.count()).toBe(7);
    const today = days.last();
    expect(Number(await today.getAttribute('data-cheap'))).toBe(first.charged);
    expect(await popup.getByTestId('upgrade').count()).toBe(0);
    expect(await readBadge(browser)).toBe('');
    await screenshotBothSchemes(popup, 'popup');
    await popup.close();
  });

  it('moves live while an answer streams', async () => {
    provider.enqueue({
      type: 'answer',
      text: 'word '.repeat(40).trim(),
      chunkDelayMs: 100,
    });
    const popup = await browser.openPopup();
    await readHud(popup);
    const before = Number(
      await popup.getByTestId('used').getAttribute('data-value'),
    );

    const answered = askInSidePanel(panel, 'Count slowly to forty.');
    await popup.getByTestId('live-estimate').waitFor();
    await expect
      .poll(async () =>
        Number(await popup.getByTestId('used').getAttribute('data-value')),
      )
      .toBeGreaterThan(before);
    const shown = await answered;
    expect(shown.status).toBe('done');

    await popup.getByTestId('live-estimate').waitFor({ state: 'detached' });
    const usage = await fetchUsage(
      backend.url,
      await readInstallToken(browser.serviceWorker),
    );
    await expect
      .poll(async () =>
        Number(await popup.getByTestId('used').getAttribute('data-value')),
      )
      .toBe(usage.used);
    await popup.close();
  });

  it('asks about the active page with its token count', async () => {
    const article = await browser.context.newPage();
    await article.goto(articleUrl);
    // The panel tab stays in the background, so the article is the active tab.
    await panel.getByTestId('ask-about-page').click();
    const chip = panel.getByTestId('page-chip');
    await chip.waitFor();
    const tokens = Number(await chip.getAttribute('data-tokens'));
    expect(tokens).toBeGreaterThan(100);
    expect(await chip.innerText()).toContain('The Seine');
    expect(await panel.getByTestId('page-tokens').innerText()).toMatch(
      /tokens of page text/,
    );
    await screenshotBothSchemes(panel, 'side-panel-page');

    const calls = provider.requests.length;
    const shown = await askInSidePanel(panel, 'Where does this river end?');
    expect(shown.status).toBe('done');
    expect(provider.requests.length).toBe(calls + 1);
    const sent = JSON.stringify(provider.requests.at(-1)?.body);
    expect(sent).toContain('English Channel at Le Havre');
    expect(sent).not.toContain('Home | About | Contact');
    expect(
      await panel.getByTestId('question-page').last().innerText(),
    ).toContain('The Seine');
    await article.close();
  });

  it('puts a context-menu selection in the question box', async () => {
    await browser.serviceWorker.evaluate(
      (pending) =>
        (
          globalThis as unknown as {
            chrome: {
              storage: { local: { set(items: object): Promise<void> } };
            };
          }
        ).chrome.storage.local.set({ 'pending-selection': pending }),
      { text: 'Le Havre', createdAt: Date.now() },
    );
    await expect
      .poll(() => panel.getByTestId('question-input').inputValue())
      .toContain('"Le Havre"');
    await panel.getByTestId('question-input').fill('');
  });

  it('warns under 10% and explains an exhausted allowance', async () => {
    const usage = await fetchUsage(
      backend.url,
      await readInstallToken(browser.serviceWorker),
    );
    // A long question that leaves about 5% of the allowance.
    const words = usage.remaining - ALLOWANCE * 0.05 - 120;
    const long = `${'apple '.repeat(Math.max(1, Math.floor(words)))}: how many apples?`;
    await panel.getByTestId('new-conversation').click();
    const shown = await askInSidePanel(panel, long);
    expect(shown.status).toBe('done');

    const after = await fetchUsage(
      backend.url,
      await readInstallToken(browser.serviceWorker),
    );
    expect(after.remaining).toBeGreaterThan(0);
    expect(after.remaining).toBeLessThan(ALLOWANCE * 0.1);
    await expect.poll(() => readBadge(browser)).toBe('!');

    const popup = await browser.openPopup();
    await readHud(popup);
    expect(await popup.getByTestId('meter').getAttribute('data-level')).toBe(
      'critical',
    );
    const upgrade = popup.getByTestId('upgrade');
    expect(await upgrade.getAttribute('href')).toBe(UPGRADE_URL);
    await screenshotBothSchemes(popup, 'popup-low');
    await popup.close();

    const refused = await askInSidePanel(
      panel,
      'Please explain the history of the river Seine in detail.',
    );
    expect(refused.status).toBe('error');
    const error = panel.getByTestId('answer-error').last();
    expect(await error.getAttribute('data-code')).toBe('allowance_exhausted');
    const text = await error.innerText();
    expect(text).toMatch(/resets on .+\d/);
    expect(text).not.toContain('allowance_exhausted');
    expect(await error.getByTestId('upgrade').getAttribute('href')).toBe(
      UPGRADE_URL,
    );
    expect(
      await panel
        .getByTestId('answer')
        .last()
        .getByTestId('retry-premium')
        .count(),
    ).toBe(0);
    await screenshotBothSchemes(panel, 'side-panel-allowance-gone');
  });

  it('says so when the backend is unreachable', async () => {
    await backend.stop();
    const popup = await browser.openPopup();
    const problem = popup.getByTestId('backend-problem');
    await problem.waitFor({ timeout: 20_000 });
    expect(await problem.getAttribute('data-status')).toBe('unreachable');
    expect(await problem.innerText()).toContain('cannot be reached');
    await screenshotBothSchemes(popup, 'popup-unreachable');
  });
});
