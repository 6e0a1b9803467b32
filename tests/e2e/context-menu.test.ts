/**
 * The context-menu entries in Chromium: both are registered, and "Ask
 * Tokenwise about the selection" goes from the background's real onClicked
 * listener to the answer.
 *
 * Simulated: the click on the native menu, which headless Chromium cannot
 * show. The test selects text in a real page, then fires the extension's
 * own chrome.contextMenus.onClicked event with Chrome's OnClickData for
 * that selection and the real tab. A dispatched event carries no user
 * gesture, so the background's sidePanel.open call is rejected (and
 * logged) where a real click would open the panel, and Chrome grants no
 * activeTab; the panel is opened as a tab instead. Everything after the
 * listener runs as in use: the pending selection in storage.local, the
 * panel's draft, the question to the backend and the answer.
 */
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
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
  launchExtension,
  type ExtensionBrowser,
} from '../../scripts/harness/browser';
import { startFakeProvider, type FakeProvider } from '../fake-provider';

const SELECTED = 'The Rhone rises in the Rhone Glacier in the Swiss Alps.';
const ARTICLE = `<!doctype html><html><head><title>The Rhone</title></head><body>
<article><h1>The Rhone</h1><p id="selected">${SELECTED}</p>
<p>It flows through Lake Geneva and southern France to the Mediterranean.</p>
</article></body></html>`;

/** Chrome's OnClickData for a click on a menu entry over a selection. */
interface MenuClick {
  menuItemId: string;
  editable: boolean;
  frameId: number;
  pageUrl: string;
  selectionText?: string;
}

/**
 * Fires the background's contextMenus.onClicked listeners with `info` and
 * the active tab, as Chrome does after a menu click.
 */
async function dispatchMenuClick(
  browser: ExtensionBrowser,
  info: MenuClick,
): Promise<void> {
  await browser.serviceWorker.evaluate(async (clickInfo) => {
    const scope = globalThis as unknown as {
      chrome: {
        tabs: { query(query: object): Promise<unknown[]> };
        contextMenus: {
          onClicked: { dispatch(info: object, tab: unknown): void };
        };
      };
    };
    const [tab] = await scope.chrome.tabs.query({
      active: true,
      lastFocusedWindow: true,
    });
    scope.chrome.contextMenus.onClicked.dispatch(clickInfo, tab);
  }, info);
}

async function readPendingSelection(
  browser: ExtensionBrowser,
): Promise<unknown> {
  return browser.serviceWorker.evaluate(async () => {
    const scope = globalThis as unknown as {
      chrome: {
        storage: {
          local: { get(key: string): Promise<Record<string, unknown>> };
        };
      };
    };
    return (await scope.chrome.storage.local.get('pending-selection'))[
      'pending-selection'
    ];
  });
}

describe('selection context menu in Chromium', () => {
  let provider: FakeProvider;
  let backend: RunningBackend;
  let browser: ExtensionBrowser;
  let articleServer: Server;
  let articleUrl: string;
  let panel: Page;

  beforeAll(async () => {
    provider = await startFakeProvider();
    backend = await startBackend({
      port: inject('backendPort'),
      dataDir: mkdtempSync(join(tmpdir(), 'tokenwise-e2e-')),
      logFile: join(
        REPOSITORY_ROOT,
        'test-results/e2e-context-menu-backend.log',
      ),
      env: {
        OPENAI_API_KEY: 'test-openai-key',
        OPENAI_BASE_URL: provider.openaiBaseUrl,
        GEMINI_API_KEY: 'test-gemini-key',
        GEMINI_BASE_URL: provider.geminiBaseUrl,
      },
    });
    articleServer = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      response.end(ARTICLE);
    });
    await new Promise<void>((resolve) =>
      articleServer.listen(0, '127.0.0.1', resolve),
    );
    articleUrl = `http://127.0.0.1:${(articleServer.address() as AddressInfo).port}/rhone`;
    browser = await launchExtension({ extensionDir: inject('extensionDir') });
    panel = await browser.openSidePanel();
  });

  afterAll(async () => {
    await browser?.close();
    await backend?.stop();
    await provider?.close();
    articleServer?.close();
  });

  it.each([
    { id: 'ask-about-selection', context: 'selection' },
    { id: 'open-on-page', context: 'page' },
  ])('registers the $context entry', async ({ id, context }) => {
    // update() rejects for an id the extension has not created yet; the
    // background creates the entries once runtime.onInstalled fires.
    const updateEntry = () =>
      browser.serviceWorker.evaluate(
        async (entry) => {
          const scope = globalThis as unknown as {
            chrome: {
              contextMenus: {
                update(id: string, properties: object): Promise<void>;
              };
            };
          };
          try {
            await scope.chrome.contextMenus.update(entry.id, {
              contexts: [entry.context],
            });
            return 'updated';
          } catch (error) {
            return String(error);
          }
        },
        { id, context },
      );
    await expect.poll(updateEntry, { timeout: 10_000 }).toBe('updated');
  });

  it('puts the selection in the panel and answers it', async () => {
    const article = await browser.context.newPage();
    await article.goto(articleUrl);
    const selectionText = await article.evaluate(() => {
      const paragraph = document.getElementById('selected')!;
      const range = document.createRange();
      range.selectNodeContents(paragraph);
      const selection = window.getSelection()!;
      selection.removeAllRanges();
      selection.addRange(range);
      return selection.toString();
    });
    expect(selectionText).toBe(SELECTED);

    await dispatchMenuClick(browser, {
      menuItemId: 'ask-about-selection',
      editable: false,
      frameId: 0,
      pageUrl: articleUrl,
      selectionText,
    });

    const input = panel.getByTestId('question-input');
    await expect.poll(() => input.inputValue()).toContain(`"${SELECTED}"`);
    // The panel took the selection, so a second panel would not get it.
    expect(await readPendingSelection(browser)).toBeUndefined();

    provider.enqueue({ type: 'answer', text: 'It starts as glacier water.' });
    const calls = provider.requests.length;
    await panel.bringToFront();
    await panel.getByTestId('send').click();
    await expect.poll(() => provider.requests.length).toBe(calls + 1);
    expect(JSON.stringify(provider.requests.at(-1)?.body)).toContain(SELECTED);
    const answer = panel.getByTestId('answer').last();
    await expect
      .poll(() => answer.getAttribute('data-status'), { timeout: 30_000 })
      .toBe('done');
    expect(await answer.getByTestId('answer-text').innerText()).toContain(
      'glacier water',
    );
    await article.close();
  });

  it('ignores other entries and empty selections', async () => {
    // Without an open panel a stored selection stays in storage.local.
    await panel.close();
    const article = await browser.context.newPage();
    await article.goto(articleUrl);

    await dispatchMenuClick(browser, {
      menuItemId: 'open-on-page',
      editable: false,
      frameId: 0,
      pageUrl: articleUrl,
      selectionText: 'Not a selection question.',
    });
    await dispatchMenuClick(browser, {
      menuItemId: 'another-entry',
      editable: false,
      frameId: 0,
      pageUrl: articleUrl,
      selectionText: 'Not for Tokenwise.',
    });
    await dispatchMenuClick(browser, {
      menuItemId: 'ask-about-selection',
      editable: false,
      frameId: 0,
      pageUrl: articleUrl,
    });

    // The listener issues its storage write before dispatch returns, so
    // this later read would see it.
    expect(await readPendingSelection(browser)).toBeUndefined();

    await dispatchMenuClick(browser, {
      menuItemId: 'ask-about-selection',
      editable: false,
      frameId: 0,
      pageUrl: articleUrl,
      selectionText: SELECTED,
    });
    expect(await readPendingSelection(browser)).toMatchObject({
      text: SELECTED,
      url: articleUrl,
    });
    await article.close();
  });
});
