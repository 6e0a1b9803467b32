import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
  type ExtensionBrowser,
} from '../../scripts/harness/browser';
import { fetchUsage, readInstallToken } from '../../scripts/harness/install';
import { startFakeProvider, type FakeProvider } from '../fake-provider';

const SCREENSHOTS = join(REPOSITORY_ROOT, 'test-results/screenshots');

describe('side panel chat in Chromium', () => {
  let provider: FakeProvider;
  let backend: RunningBackend;
  let browser: ExtensionBrowser;

  beforeAll(async () => {
    provider = await startFakeProvider();
    const dataDir = mkdtempSync(join(tmpdir(), 'tokenwise-e2e-'));
    backend = await startBackend({
      port: inject('backendPort'),
      dataDir,
      logFile: join(REPOSITORY_ROOT, 'test-results/e2e-chat-backend.log'),
      env: {
        OPENAI_API_KEY: 'test-openai-key',
        OPENAI_BASE_URL: provider.openaiBaseUrl,
        GEMINI_API_KEY: 'test-gemini-key',
        GEMINI_BASE_URL: provider.geminiBaseUrl,
      },
    });
    browser = await launchExtension({ extensionDir: inject('extensionDir') });
  });

  afterAll(async () => {
    await browser?.close();
    await backend?.stop();
    await provider?.close();
  });

  it('streams an answer, then serves the repeat from cache', async () => {
    const sidePanel = await browser.openSidePanel();
    const question = 'What is the capital of France?';

    const first = await askInSidePanel(sidePanel, question);
    expect(first.status).toBe('done');
    expect(first.fromCache).toBe(false);
    expect(first.tier).toBe('cheap');
    expect(first.text.length).toBeGreaterThan(0);
    expect(first.inputTokens).toBeGreaterThan(0);
    expect(first.outputTokens).toBeGreaterThan(0);
    expect(first.charged).toBeGreaterThan(0);
    const providerCalls = provider.requests.length;
    expect(providerCalls).toBe(1);

    const repeat = await askInSidePanel(sidePanel, question);
    expect(repeat.status).toBe('done');
    expect(repeat.fromCache).toBe(true);
    expect(repeat.charged).toBe(0);
    expect(repeat.text).toBe(first.text);
    const cacheLabel = sidePanel.getByText('from cache, free').first();
    expect(await cacheLabel.isVisible()).toBe(true);
    expect(provider.requests.length).toBe(providerCalls);

    await sidePanel.screenshot({
      path: join(SCREENSHOTS, 'side-panel-chat.png'),
      fullPage: true,
    });
  });

  it('shows the remaining tokens the backend reports', async () => {
    const popup = await browser.openPopup();
    const hud = await readHud(popup);
    const token = await readInstallToken(browser.serviceWorker);
    const usage = await fetchUsage(backend.url, token);

    expect(usage.used).toBeGreaterThan(0);
    expect(hud.remaining).toBe(usage.remaining);
    expect(hud.allowance).toBe(usage.allowance);
    expect(hud.used).toBe(usage.used);
    await popup.screenshot({
      path: join(SCREENSHOTS, 'popup.png'),
      fullPage: true,
    });
  });

  it('keeps the conversation after the panel reopens', async () => {
    const reopened = await browser.openSidePanel();
    await reopened.getByTestId('answer').first().waitFor();
    const count = await reopened.getByTestId('answer').count();
    expect(count).toBeGreaterThanOrEqual(2);
  });
});
