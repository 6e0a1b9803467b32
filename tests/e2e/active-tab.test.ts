/**
 * "Ask about this page" under activeTab in Chromium, with no host
 * permission for the page: what grants access and what does not.
 *
 * The toolbar button is pressed through the DevTools protocol's
 * Extensions.triggerAction, which runs the same browser-side action as a
 * click (it shows the popup and grants activeTab). It needs Chromium's
 * --enable-unsafe-extension-debugging flag and a pipe connection, which
 * playwright-core uses. The real side panel is opened the same way with
 * openPanelOnActionClick on, and clicked through a second DevTools
 * connection, because Playwright does not list side panel pages.
 * Headless Chromium binds no keyboard command, so the keyboard path is
 * left to the unit tests.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  chromium,
  type Browser,
  type BrowserContext,
  type Page,
  type Worker,
} from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  REPOSITORY_ROOT,
  startBackend,
  type RunningBackend,
} from '../../scripts/harness/backend';
import { CHROMIUM_PATH } from '../../scripts/harness/browser';
import { startFakeProvider, type FakeProvider } from '../fake-provider';

const ARTICLE = `<!doctype html><html><head><title>The Loire</title></head><body>
<article><h1>The Loire</h1>
${'<p>The Loire is the longest river in France. It rises in the Massif Central and reaches the Atlantic at Saint-Nazaire.</p>'.repeat(10)}
</article></body></html>`;

const ACCESS_SENTENCE = 'Tokenwise can read this tab only after you call it';

interface Launched {
  context: BrowserContext;
  extensionId: string;
  serviceWorker: Worker;
  profileDir: string;
}

/** Launches Chromium with the extension and the extension debugging flag. */
async function launchWithActionTrigger(
  extensionDir: string,
): Promise<Launched> {
  const profileDir = mkdtempSync(join(tmpdir(), 'tokenwise-profile-'));
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    viewport: { width: 420, height: 760 },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--enable-unsafe-extension-debugging',
      // Port 0: Chromium picks a free port on 127.0.0.1 and writes it to
      // DevToolsActivePort in the profile.
      '--remote-debugging-port=0',
      `--disable-extensions-except=${extensionDir}`,
      `--load-extension=${extensionDir}`,
    ],
  });
  const serviceWorker =
    context.serviceWorkers()[0] ??
    (await context.waitForEvent('serviceworker', { timeout: 20_000 }));
  return {
    context,
    extensionId: new URL(serviceWorker.url()).host,
    serviceWorker,
    profileDir,
  };
}

/** Presses the toolbar button on the tab showing `url`. */
async function triggerAction(launched: Launched, url: string): Promise<void> {
  const browser = launched.context.browser();
  if (!browser) {
    throw new Error('The persistent context has no browser to send to.');
  }
  const session = await browser.newBrowserCDPSession();
  try {
    const { targetInfos } = await session.send('Target.getTargets', {
      filter: [{ type: 'tab' }],
    });
    const tab = targetInfos.find((target) => target.url === url);
    if (!tab) {
      throw new Error(`No tab target shows ${url}.`);
    }
    await session.send(
      'Extensions.triggerAction' as never,
      {
        id: launched.extensionId,
        targetId: tab.targetId,
      } as never,
    );
  } finally {
    await session.detach();
  }
}

/** Clicks "Ask about this page" and returns the chip title or the problem. */
async function askAboutPage(panel: Page): Promise<string> {
  await panel.getByTestId('ask-about-page').click();
  const outcome = panel
    .getByTestId('page-chip')
    .or(panel.getByTestId('page-problem'));
  await outcome.first().waitFor({ timeout: 15_000 });
  return outcome.first().innerText();
}

async function listGrantedOrigins(serviceWorker: Worker): Promise<string[]> {
  return serviceWorker.evaluate(async () => {
    const scope = globalThis as unknown as {
      chrome: {
        permissions: { getAll(): Promise<{ origins?: string[] }> };
      };
    };
    return (await scope.chrome.permissions.getAll()).origins ?? [];
  });
}

/**
 * Connects a second DevTools client and returns the extension page at
 * `path` (the popup or the real side panel), waiting until it is open.
 * Each try connects anew, because playwright-core lists only the pages
 * that were open when it connected. The caller closes `remote`.
 */
async function connectToExtensionPage(
  launched: Launched,
  path: string,
): Promise<{ remote: Browser; page: Page }> {
  const port = readFileSync(
    join(launched.profileDir, 'DevToolsActivePort'),
    'utf8',
  ).split('\n')[0];
  const url = `chrome-extension://${launched.extensionId}/${path}`;
  for (let attempt = 0; attempt < 50; attempt++) {
    const remote = await chromium.connectOverCDP(`http://127.0.0.1:${port}`);
    const page = remote
      .contexts()
      .flatMap((context) => context.pages())
      .find((candidate) => candidate.url() === url);
    if (page) {
      return { remote, page };
    }
    await remote.close();
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not open.`);
}

describe('activeTab page reading in Chromium', () => {
  let provider: FakeProvider;
  let backend: RunningBackend;
  let articleServer: Server;
  let articleUrl: string;
  let otherOriginUrl: string;
  let launched: Launched;

  beforeAll(async () => {
    provider = await startFakeProvider();
    backend = await startBackend({
      port: inject('backendPort'),
      dataDir: mkdtempSync(join(tmpdir(), 'tokenwise-e2e-')),
      logFile: join(REPOSITORY_ROOT, 'test-results/e2e-active-tab-backend.log'),
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
    const port = (articleServer.address() as AddressInfo).port;
    articleUrl = `http://127.0.0.1:${port}/loire`;
    // Another origin on the same server: activeTab ends at an origin change.
    otherOriginUrl = `http://localhost:${port}/loire`;
    launched = await launchWithActionTrigger(inject('extensionDir'));
  });

  afterAll(async () => {
    await launched?.context.close();
    await backend?.stop();
    await provider?.close();
    articleServer?.close();
  });

  it('reads a page only after the toolbar button', async () => {
    const panel = await launched.context.newPage();
    await panel.goto(
      `chrome-extension://${launched.extensionId}/sidepanel.html`,
    );
    const article = await launched.context.newPage();
    await article.goto(articleUrl);

    // A click in the panel alone: the page stays closed to the extension.
    const refused = await askAboutPage(panel);
    expect(refused).toContain(ACCESS_SENTENCE);
    expect(refused).toContain('Tokenwise button in the toolbar');
    expect(await listGrantedOrigins(launched.serviceWorker)).toEqual([
      `http://127.0.0.1:${inject('backendPort')}/*`,
    ]);

    await triggerAction(launched, articleUrl);
    const chip = await askAboutPage(panel);
    expect(chip).toContain('The Loire');
    const tokens = Number(
      await panel.getByTestId('page-chip').getAttribute('data-tokens'),
    );
    expect(tokens).toBeGreaterThan(100);
    // Still no host permission: the read ran under activeTab.
    expect(await listGrantedOrigins(launched.serviceWorker)).toEqual([
      `http://127.0.0.1:${inject('backendPort')}/*`,
    ]);

    await panel.getByTestId('remove-page').click();
    await article.goto(otherOriginUrl);
    expect(await askAboutPage(panel)).toContain(ACCESS_SENTENCE);
    await article.close();
    await panel.close();
  });

  it('reads a page in the panel the popup opened', async () => {
    const article = await launched.context.newPage();
    await article.goto(articleUrl);
    await triggerAction(launched, articleUrl);
    let remote: Browser | undefined;
    try {
      const popup = await connectToExtensionPage(launched, 'popup.html');
      remote = popup.remote;
      // The popup's button opens the real side panel with the click's
      // gesture; the toolbar click before it granted activeTab.
      await popup.page.getByTestId('open-side-panel').click();
      await remote.close();
      const panel = await connectToExtensionPage(launched, 'sidepanel.html');
      remote = panel.remote;

      expect(await askAboutPage(panel.page)).toContain('The Loire');
      expect(await listGrantedOrigins(launched.serviceWorker)).toEqual([
        `http://127.0.0.1:${inject('backendPort')}/*`,
      ]);
      await panel.page.getByTestId('remove-page').click();
      await panel.page.close();
    } finally {
      await remote?.close();
      await article.close();
    }
  });

  it('finds the keyboard command unbound', async () => {
    const commands = await launched.serviceWorker.evaluate(async () => {
      const scope = globalThis as unknown as {
        chrome: {
          commands: {
            getAll(): Promise<Array<{ name?: string; shortcut?: string }>>;
          };
        };
      };
      return scope.chrome.commands.getAll();
    });

    // Declared, but headless Chromium binds no suggested key, so the
    // access sentence above names only the toolbar button.
    const command = commands.find((entry) => entry.name === 'open-side-panel');
    expect(command).toBeDefined();
    expect(command?.shortcut ?? '').toBe('');
  });

  it('gets no access from a click in the side panel', async () => {
    const article = await launched.context.newPage();
    await article.goto(articleUrl);
    await launched.serviceWorker.evaluate(() =>
      (
        globalThis as unknown as {
          chrome: {
            sidePanel: {
              setPanelBehavior(behavior: object): Promise<void>;
            };
          };
        }
      ).chrome.sidePanel.setPanelBehavior({ openPanelOnActionClick: true }),
    );

    // The toolbar button now opens the real side panel instead of the
    // popup, which grants no activeTab in Chromium 156.
    await triggerAction(launched, articleUrl);
    let remote: Browser | undefined;
    try {
      const connection = await connectToExtensionPage(
        launched,
        'sidepanel.html',
      );
      remote = connection.remote;

      expect(await askAboutPage(connection.page)).toContain(ACCESS_SENTENCE);
    } finally {
      await remote?.close();
      await launched.serviceWorker.evaluate(() =>
        (
          globalThis as unknown as {
            chrome: {
              sidePanel: {
                setPanelBehavior(behavior: object): Promise<void>;
              };
            };
          }
        ).chrome.sidePanel.setPanelBehavior({ openPanelOnActionClick: false }),
      );
      await article.close();
    }
  });
});
