import { mkdtempSync, readFileSync } from 'node:fs';
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
  openOptions,
  writeSettings,
  type ExtensionBrowser,
} from '../../scripts/harness/browser';
import { startFakeProvider, type FakeProvider } from '../fake-provider';

const SCREENSHOTS = join(REPOSITORY_ROOT, 'test-results/screenshots');

async function readNumber(page: Page, testId: string): Promise<number> {
  return Number(await page.getByTestId(testId).getAttribute('data-value'));
}

/** Lists the questions in the extension's answer cache, read from IndexedDB. */
async function listCachedQuestions(page: Page): Promise<string[]> {
  return page.evaluate(
    () =>
      new Promise<string[]>((resolve, reject) => {
        const request = indexedDB.open('tokenwise');
        request.onerror = () => reject(request.error);
        request.onsuccess = () => {
          const entries = request.result
            .transaction('answers')
            .objectStore('answers')
            .getAll();
          entries.onerror = () => reject(entries.error);
          entries.onsuccess = () => {
            request.result.close();
            resolve(
              (entries.result as Array<{ question: string }>)
                .map((entry) => entry.question)
                .sort(),
            );
          };
        };
      }),
  );
}

async function startNewChat(page: Page): Promise<void> {
  // Waits for the panel to load its conversation, which would replace a
  // new chat started before it.
  await page.waitForFunction(
    () =>
      document.querySelector('.chat__empty') !== null ||
      document.querySelector('[data-testid="answer"]') !== null,
  );
  const button = page.getByTestId('new-conversation');
  if (await button.isEnabled()) {
    await button.click();
  }
  await expect.poll(() => page.getByTestId('answer').count()).toBe(0);
}

describe('answer cache and options in Chromium', () => {
  let provider: FakeProvider;
  let backend: RunningBackend;
  let browser: ExtensionBrowser;
  let profileDir: string;
  let dataDir: string;

  const startTestBackend = () =>
    startBackend({
      port: inject('backendPort'),
      dataDir,
      logFile: join(REPOSITORY_ROOT, 'test-results/e2e-cache-backend.log'),
      env: {
        OPENAI_API_KEY: 'test-openai-key',
        OPENAI_BASE_URL: provider.openaiBaseUrl,
        GEMINI_API_KEY: 'test-gemini-key',
        GEMINI_BASE_URL: provider.geminiBaseUrl,
      },
    });

  beforeAll(async () => {
    provider = await startFakeProvider();
    dataDir = mkdtempSync(join(tmpdir(), 'tokenwise-e2e-'));
    backend = await startTestBackend();
    profileDir = mkdtempSync(join(tmpdir(), 'tokenwise-profile-'));
    browser = await launchExtension({
      extensionDir: inject('extensionDir'),
      profileDir,
    });
  });

  afterAll(async () => {
    await browser?.close();
    await backend?.stop();
    await provider?.close();
  });

  it('serves the cache after the browser restarts', async () => {
    const panel = await browser.openSidePanel();
    const first = await askInSidePanel(panel, 'What is the speed of light?');
    expect(first.fromCache).toBe(false);
    const calls = provider.requests.length;

    // A new browser process on the same profile starts a new service worker.
    await browser.close();
    browser = await launchExtension({
      extensionDir: inject('extensionDir'),
      profileDir,
    });
    const reopened = await browser.openSidePanel();
    await startNewChat(reopened);
    const repeat = await askInSidePanel(
      reopened,
      'What is the speed of light?',
    );
    expect(repeat.fromCache).toBe(true);
    expect(repeat.text).toBe(first.text);
    expect(provider.requests.length).toBe(calls);
  });

  it('shows cache stats and clears the cache', async () => {
    const options = await openOptions(browser);
    await options.getByTestId('cache-stats').waitFor();
    expect(await readNumber(options, 'cache-entries')).toBe(1);
    expect(await readNumber(options, 'cache-size')).toBeGreaterThan(0);
    expect(await readNumber(options, 'cache-hits')).toBe(1);
    expect(await readNumber(options, 'cache-tokens-saved')).toBeGreaterThan(0);
    for (const scheme of ['light', 'dark'] as const) {
      await options.emulateMedia({ colorScheme: scheme });
      await options.screenshot({
        path: join(SCREENSHOTS, `options-${scheme}.png`),
        fullPage: true,
      });
    }

    await options.getByTestId('clear-cache').click();
    await expect.poll(() => readNumber(options, 'cache-entries')).toBe(0);
    expect(await readNumber(options, 'cache-size')).toBe(0);
    expect(await readNumber(options, 'cache-hits')).toBe(0);
    await options.close();
  });

  it('evicts the least recently used answer under a small cap', async () => {
    const panel = await browser.openSidePanel();
    await startNewChat(panel);
    await askInSidePanel(panel, 'Name the largest ocean.');
    const options = await openOptions(browser);
    await options.getByTestId('cache-stats').waitFor();
    const entryBytes = await readNumber(options, 'cache-size');
    await options.close();
    // Room for two answers of about this size, not three.
    await writeSettings(browser, {
      cacheMaxBytes: Math.floor(entryBytes * 2.6),
    });

    await startNewChat(panel);
    await askInSidePanel(panel, 'Which planet has rings?');
    await startNewChat(panel);
    await askInSidePanel(panel, 'How tall is Mount Everest?');

    const after = await openOptions(browser);
    expect(await listCachedQuestions(after)).toEqual([
      'How tall is Mount Everest?',
      'Which planet has rings?',
    ]);

    // Using the older entry makes the newer one the least recently used.
    await startNewChat(panel);
    const used = await askInSidePanel(panel, 'Which planet has rings?');
    expect(used.fromCache).toBe(true);
    await startNewChat(panel);
    await askInSidePanel(panel, 'Name the largest ocean.');
    expect(await listCachedQuestions(after)).toEqual([
      'Name the largest ocean.',
      'Which planet has rings?',
    ]);

    await after.reload();
    await after.getByTestId('cache-stats').waitFor();
    expect(await readNumber(after, 'cache-entries')).toBe(2);
    expect(await readNumber(after, 'cache-size')).toBeLessThanOrEqual(
      entryBytes * 2.6,
    );
    await after.close();
    await writeSettings(browser, { cacheMaxBytes: 50 * 1024 * 1024 });
  });

  it('turns the cache off and routes always cheap', async () => {
    const options = await openOptions(browser);
    await options.getByTestId('cache-enabled').uncheck();
    await options.getByTestId('routing-cheap').check();
    await options.getByTestId('options-status').waitFor();

    const panel = await browser.openSidePanel();
    await startNewChat(panel);
    const first = await askInSidePanel(
      panel,
      'Prove that there are infinitely many primes, step by step.',
    );
    expect(first.tier).toBe('cheap');
    const repeat = await askInSidePanel(
      panel,
      'Prove that there are infinitely many primes, step by step.',
    );
    expect(repeat.fromCache).toBe(false);

    await options.reload();
    await options.getByTestId('cache-enabled').check();
    await options.getByTestId('routing-automatic').check();
    await options.close();
  });

  it('exports conversations as JSON and Markdown', async () => {
    const options = await openOptions(browser);
    const [jsonDownload] = await Promise.all([
      options.waitForEvent('download'),
      options.getByTestId('export-json').click(),
    ]);
    const json = JSON.parse(readFileSync(await jsonDownload.path(), 'utf8'));
    expect(json.format).toBe('tokenwise-conversations');
    const questions = JSON.stringify(json.conversations);
    expect(questions).toContain('Which planet has rings?');

    const [markdownDownload] = await Promise.all([
      options.waitForEvent('download'),
      options.getByTestId('export-markdown').click(),
    ]);
    expect(markdownDownload.suggestedFilename()).toMatch(/\.md$/);
    const markdown = readFileSync(await markdownDownload.path(), 'utf8');
    expect(markdown).toContain('# Tokenwise conversations');
    expect(markdown).toContain('Which planet has rings?');
    await options.close();
  });

  it('checks and keeps the backend URL', async () => {
    const options = await openOptions(browser);
    await options.getByTestId('backend-url-input').fill('ftp://example');
    await options.getByTestId('save-backend-url').click();
    expect(await options.getByTestId('options-status').innerText()).toContain(
      'is not a valid server address',
    );

    // The build's own backend is already permitted, so no prompt appears.
    await options.getByTestId('backend-url-input').fill(backend.url);
    await options.getByTestId('save-backend-url').click();
    await expect
      .poll(() => options.getByTestId('backend-url').innerText())
      .toBe(backend.url);
    await options.getByTestId('reset-backend-url').click();
    await options.close();
  });

  it('deletes all local data', async () => {
    const options = await openOptions(browser);
    await options.getByTestId('clear-local-data').click();
    await expect
      .poll(() => options.getByTestId('options-status').innerText())
      .toContain('Deleted your conversations');
    expect(await readNumber(options, 'cache-entries')).toBe(0);

    const panel = await browser.openSidePanel();
    await panel.getByTestId('question-input').waitFor();
    expect(await panel.getByTestId('answer').count()).toBe(0);
    await panel.getByTestId('toggle-conversations').click();
    await panel.getByTestId('conversations-empty').waitFor();
  });
});
