/**
 * Builds the extension for a given backend and drives it in Debian's
 * Chromium through playwright-core: the side panel and the popup are opened
 * as extension pages in tabs, which run the same code as the real panel.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  chromium,
  type BrowserContext,
  type Page,
  type Worker,
} from 'playwright-core';
import { REPOSITORY_ROOT } from './backend';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Builds the Chrome extension with `wxt build` into `outDir`, pointed at
 * `backendUrl`. Returns the folder of the unpacked extension.
 */
export async function buildExtension(options: {
  backendUrl: string;
  outDir: string;
  browser?: 'chrome' | 'firefox';
  /** Extra build variables, such as WXT_UPGRADE_URL. */
  env?: Record<string, string>;
}): Promise<string> {
  const browser = options.browser ?? 'chrome';
  await runCommand('npx', ['wxt', 'build', '-b', browser], {
    ...options.env,
    WXT_BACKEND_URL: options.backendUrl,
    TOKENWISE_BUILD_DIR: options.outDir,
  });
  // WXT builds Manifest V2 for Firefox and V3 for Chrome by default.
  const manifestVersion = browser === 'firefox' ? 'mv2' : 'mv3';
  const extensionDir = join(options.outDir, `${browser}-${manifestVersion}`);
  if (!existsSync(join(extensionDir, 'manifest.json'))) {
    throw new Error(`wxt build wrote no manifest.json in ${extensionDir}.`);
  }
  return extensionDir;
}

/**
 * Runs a command in the repository root with extra environment variables.
 * Rejects with its output when it exits with a non-zero code.
 */
export function runCommand(
  command: string,
  args: string[],
  env: Record<string, string>,
): Promise<void> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(command, args, {
      cwd: REPOSITORY_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) {
        resolveRun();
      } else {
        reject(
          new Error(
            `${command} ${args.join(' ')} failed with code ${code}:\n${output}`,
          ),
        );
      }
    });
  });
}

export interface ExtensionBrowser {
  context: BrowserContext;
  extensionId: string;
  serviceWorker: Worker;
  /** Opens the side panel page in a new tab. */
  openSidePanel(): Promise<Page>;
  /** Opens the popup page in a new tab. */
  openPopup(): Promise<Page>;
  close(): Promise<void>;
}

/**
 * Launches Chromium with only this extension loaded and waits for its
 * service worker. Throws with an install hint when Chromium is missing.
 */
export async function launchExtension(options: {
  extensionDir: string;
  headless?: boolean;
  colorScheme?: 'light' | 'dark';
  /** Profile folder to reuse, so a relaunch keeps the extension's data. */
  profileDir?: string;
}): Promise<ExtensionBrowser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium is missing at ${CHROMIUM_PATH}: install it with "apt-get install -y chromium", or set CHROMIUM_PATH.`,
    );
  }
  const profileDir =
    options.profileDir ?? mkdtempSync(join(tmpdir(), 'tokenwise-profile-'));
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM_PATH,
    headless: options.headless ?? true,
    colorScheme: options.colorScheme ?? 'light',
    viewport: { width: 420, height: 760 },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      `--disable-extensions-except=${options.extensionDir}`,
      `--load-extension=${options.extensionDir}`,
    ],
  });

  const serviceWorker =
    context.serviceWorkers()[0] ??
    (await context.waitForEvent('serviceworker', { timeout: 20_000 }));
  const extensionId = new URL(serviceWorker.url()).host;

  const openPage = async (path: string): Promise<Page> => {
    const page = await context.newPage();
    await page.goto(`chrome-extension://${extensionId}/${path}`);
    return page;
  };

  return {
    context,
    extensionId,
    serviceWorker,
    openSidePanel: () => openPage('sidepanel.html'),
    openPopup: () => openPage('popup.html'),
    close: () => context.close(),
  };
}

/** What the side panel shows under one answer. */
export interface AnswerShown {
  status: string;
  text: string;
  tier: string;
  model: string;
  fromCache: boolean;
  inputTokens: number;
  outputTokens: number;
  charged: number;
}

/**
 * Types a question into the side panel, sends it and waits for the answer
 * to finish. Returns what the panel shows under it.
 */
export async function askInSidePanel(
  page: Page,
  question: string,
  options: { timeoutMs?: number } = {},
): Promise<AnswerShown> {
  const answers = page.getByTestId('answer');
  const before = await answers.count();

  await page.getByTestId('question-input').fill(question);
  await page.getByTestId('send').click();

  const answer = answers.nth(before);
  await answer.waitFor({ timeout: options.timeoutMs ?? 30_000 });
  await page.waitForFunction(
    (index) => {
      const element = document.querySelectorAll('[data-testid="answer"]')[
        index
      ];
      const status = element?.getAttribute('data-status');
      return status !== null && status !== undefined && status !== 'streaming';
    },
    before,
    { timeout: options.timeoutMs ?? 30_000 },
  );
  return readAnswer(page, before);
}

/** Reads the text and meta line of the answer at `index`. */
export async function readAnswer(
  page: Page,
  index: number,
): Promise<AnswerShown> {
  const answer = page.getByTestId('answer').nth(index);
  const meta = answer.getByTestId('answer-meta');
  const attribute = async (name: string) =>
    (await meta.getAttribute(name)) ?? '';

  return {
    status: (await answer.getAttribute('data-status')) ?? '',
    text: (await answer.getByTestId('answer-text').innerText()).trim(),
    tier: await attribute('data-tier'),
    model: await attribute('data-model'),
    fromCache: (await attribute('data-from-cache')) === 'true',
    inputTokens: Number(await attribute('data-input-tokens')),
    outputTokens: Number(await attribute('data-output-tokens')),
    charged: Number(await attribute('data-charged')),
  };
}

/** What the popup HUD shows. */
export interface HudShown {
  remaining: number;
  allowance: number;
  used: number;
  resetDate: string;
}

/** Reads the popup's figures once its meter is painted. */
export async function readHud(page: Page): Promise<HudShown> {
  await page.getByTestId('meter').waitFor({ timeout: 15_000 });
  const value = async (testId: string) =>
    Number(await page.getByTestId(testId).getAttribute('data-value'));

  return {
    remaining: await value('remaining'),
    allowance: await value('allowance'),
    used: await value('used'),
    resetDate: (await page.getByTestId('reset-date').innerText()).trim(),
  };
}

/**
 * Opens the options page in a new tab. Its URL is `options.html` in the
 * extension's folder.
 */
export async function openOptions(browser: ExtensionBrowser): Promise<Page> {
  const page = await browser.context.newPage();
  await page.goto(`chrome-extension://${browser.extensionId}/options.html`);
  return page;
}

/** Merges settings into the extension's `settings` entry, as the options page does. */
export async function writeSettings(
  browser: ExtensionBrowser,
  settings: Record<string, unknown>,
): Promise<void> {
  await browser.serviceWorker.evaluate(async (change) => {
    const storage = (
      globalThis as unknown as {
        chrome: {
          storage: {
            local: {
              get(key: string): Promise<Record<string, unknown>>;
              set(items: Record<string, unknown>): Promise<void>;
            };
          };
        };
      }
    ).chrome.storage.local;
    const stored = await storage.get('settings');
    await storage.set({
      settings: { ...(stored.settings as object | undefined), ...change },
    });
  }, settings);
}
