/**
 * `npm run store:screenshots`: produces the store listing images from the
 * real extension. It builds the extension, starts the backend with a fresh
 * database against a scripted provider on 127.0.0.1, asks an easy question,
 * a hard one and the easy one again through the side panel in headless
 * Chromium, then captures the side panel and the popup at their natural
 * sizes. A page in the same browser lays each capture, unscaled, onto a
 * 1280x800 canvas with a caption, and draws the 440x280 small promo tile.
 *
 * Options:
 *   --out DIR   where the PNGs go (default store/images)
 */
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Page } from 'playwright-core';
import { startFakeProvider, type FakeProvider } from '../tests/fake-provider';
import {
  findFreePort,
  REPOSITORY_ROOT,
  startBackend,
  type RunningBackend,
} from './harness/backend';
import {
  askInSidePanel,
  buildExtension,
  launchExtension,
  readHud,
  type ExtensionBrowser,
} from './harness/browser';

/** Size of a store screenshot: Chrome takes 1280x800 or 640x400, Firefox any. */
export const SCREENSHOT_SIZE = { width: 1280, height: 800 } as const;
/** Size of the Chrome Web Store's small promo tile. */
export const PROMO_TILE_SIZE = { width: 440, height: 280 } as const;

/** File names of the images, in the output folder. */
export const STORE_IMAGE_FILES = {
  sidePanel: 'side-panel-1280x800.png',
  popup: 'popup-1280x800.png',
  smallPromoTile: 'small-promo-440x280.png',
} as const;

/** Size of the side panel capture; the panel in Chrome is about this wide. */
const SIDE_PANEL_VIEWPORT = { width: 420, height: 720 };
/** The popup's body is 320 px wide (components/popup/usage-hud.css). */
const POPUP_VIEWPORT = { width: 320, height: 600 };

/**
 * The questions and the scripted answers. The easy question is asked twice,
 * so the second answer comes from the cache.
 */
const CONVERSATION = [
  {
    question: 'What is the capital of Australia?',
    answer:
      'Canberra. It was chosen in 1908 as a compromise between Sydney and ' +
      'Melbourne, and Parliament has met there since 1927.',
  },
  {
    question:
      'Prove that there are infinitely many prime numbers, then implement ' +
      'a sieve of Eratosthenes in TypeScript and analyze its time ' +
      'complexity step by step.',
    answer: [
      '**Proof.** Suppose there were finitely many primes p1, …, pn. The',
      'number N = p1 · p2 · … · pn + 1 leaves remainder 1 when divided by',
      'each of them, so its prime factors are none of p1, …, pn, which',
      'contradicts the assumption. ∎',
      '',
      '```ts',
      'function sieve(limit: number): number[] {',
      '  const composite = new Uint8Array(limit + 1);',
      '  const primes: number[] = [];',
      '  for (let n = 2; n <= limit; n++) {',
      '    if (composite[n]) continue;',
      '    primes.push(n);',
      '    for (let m = n * n; m <= limit; m += n) composite[m] = 1;',
      '  }',
      '  return primes;',
      '}',
      '```',
      '',
      'Each prime p crosses out about limit / p numbers, and the sum of',
      '1/p over primes up to limit grows like log log limit, so the sieve',
      'runs in O(n log log n) time and O(n) memory.',
    ].join('\n'),
  },
] as const;

export interface StoreImages {
  sidePanel: string;
  popup: string;
  smallPromoTile: string;
}

/**
 * Produces the store images in `outDir`. With `extensionDir` and `port`,
 * it uses that build (made for http://127.0.0.1:<port>) instead of
 * building one. Throws when an answer is not the scripted one, which means
 * the backend called the provider more often than the flow expects.
 */
export async function produceStoreImages(options: {
  outDir: string;
  extensionDir?: string;
  port?: number;
  log?: (line: string) => void;
}): Promise<StoreImages> {
  const log = options.log ?? (() => undefined);
  const workDir = mkdtempSync(join(tmpdir(), 'tokenwise-store-images-'));
  const port = options.port ?? (await findFreePort());
  const backendUrl = `http://127.0.0.1:${port}`;
  let provider: FakeProvider | undefined;
  let backend: RunningBackend | undefined;
  let browser: ExtensionBrowser | undefined;

  try {
    let extensionDir = options.extensionDir;
    if (extensionDir === undefined) {
      log(`Building the extension for ${backendUrl} ...`);
      extensionDir = await buildExtension({
        backendUrl,
        outDir: join(workDir, 'build'),
      });
    }

    log('Starting the backend against a scripted provider ...');
    provider = await startFakeProvider();
    backend = await startBackend({
      port,
      dataDir: join(workDir, 'data'),
      logFile: join(workDir, 'backend.log'),
      env: {
        OPENAI_API_KEY: 'store-screenshots-key',
        OPENAI_BASE_URL: provider.openaiBaseUrl,
        GEMINI_API_KEY: 'store-screenshots-key',
        GEMINI_BASE_URL: provider.geminiBaseUrl,
      },
    });

    log('Asking the questions in headless Chromium ...');
    browser = await launchExtension({ extensionDir });
    const sidePanel = await browser.openSidePanel();
    await sidePanel.setViewportSize(SIDE_PANEL_VIEWPORT);
    for (const turn of CONVERSATION) {
      provider.enqueue({ type: 'answer', text: turn.answer });
      await askScripted(sidePanel, turn.question, turn.answer);
    }
    const repeat = await askInSidePanel(sidePanel, CONVERSATION[0].question);
    if (!repeat.fromCache) {
      throw new Error(
        'The repeated question was not answered from the cache, so the side panel screenshot would not show a free answer.',
      );
    }
    const sidePanelPng = await sidePanel.screenshot();

    const popup = await browser.openPopup();
    await popup.setViewportSize(POPUP_VIEWPORT);
    await readHud(popup);
    const popupPng = await popup.screenshot({ fullPage: true });

    log('Composing the store images ...');
    mkdirSync(options.outDir, { recursive: true });
    const canvas = await browser.context.newPage();
    const icon = readFileSync(join(REPOSITORY_ROOT, 'store/icon-128.png'));
    const images: StoreImages = {
      sidePanel: join(options.outDir, STORE_IMAGE_FILES.sidePanel),
      popup: join(options.outDir, STORE_IMAGE_FILES.popup),
      smallPromoTile: join(options.outDir, STORE_IMAGE_FILES.smallPromoTile),
    };
    await renderCanvas(canvas, SCREENSHOT_SIZE, images.sidePanel, {
      capture: sidePanelPng,
      icon,
      title: 'Ask in the side panel',
      lines: [
        'Easy questions go to a fast model, hard ones to a stronger one.',
        'Each answer shows its model and what it cost.',
        'Ask again and the answer comes from the cache, free.',
      ],
    });
    await renderCanvas(canvas, SCREENSHOT_SIZE, images.popup, {
      capture: popupPng,
      icon,
      title: 'Watch your free allowance',
      lines: [
        'The toolbar popup shows what is left, what you used, what the cache saved and when the allowance resets.',
        'No API key, no account.',
      ],
    });
    await renderCanvas(canvas, PROMO_TILE_SIZE, images.smallPromoTile, {
      icon,
      title: 'Tokenwise',
      lines: ['An AI assistant in the side panel, with a free allowance.'],
    });
    return images;
  } finally {
    await browser?.close();
    await backend?.stop();
    await provider?.close();
  }
}

/** Asks a question and checks that the scripted answer is what came back. */
async function askScripted(
  page: Page,
  question: string,
  expected: string,
): Promise<void> {
  const shown = await askInSidePanel(page, question);
  // The panel renders Markdown, so emphasis marks are not in its text.
  const firstWords = expected
    .replace(/[*`]/g, '')
    .split(/\s+/)
    .slice(0, 3)
    .join(' ');
  if (shown.status !== 'done') {
    throw new Error(
      `The answer to "${question}" ended with status ${shown.status}: ${shown.text.slice(0, 120)}`,
    );
  }
  if (!shown.text.replace(/\s+/g, ' ').includes(firstWords)) {
    throw new Error(
      `The answer to "${question}" is not the scripted one, so the backend made a provider call the flow does not expect.`,
    );
  }
}

/**
 * Draws one image in the browser: the icon, a title and caption lines on
 * the left, and the capture (if any) at its own size on the right, then
 * saves a screenshot of exactly `size`.
 */
async function renderCanvas(
  page: Page,
  size: { width: number; height: number },
  path: string,
  content: {
    capture?: Buffer;
    icon: Buffer;
    title: string;
    lines: string[];
  },
): Promise<void> {
  const small = size.width < 800;
  // A PNG's height is a big-endian 32-bit integer at bytes 20 to 23.
  const captureHeight = content.capture?.readUInt32BE(20) ?? 0;
  if (captureHeight > size.height - 40) {
    throw new Error(
      `The capture is ${captureHeight} px tall, too tall to fit ${size.height} px unscaled; make its viewport smaller.`,
    );
  }
  const captureHtml = content.capture
    ? `<img class="capture" alt="" src="data:image/png;base64,${content.capture.toString('base64')}">`
    : '';
  const escape = (text: string) =>
    text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  await page.setViewportSize(size);
  await page.setContent(`<!doctype html>
<html><head><style>
  * { box-sizing: border-box; margin: 0; }
  body {
    width: ${size.width}px; height: ${size.height}px; overflow: hidden;
    display: flex; align-items: center; justify-content: center;
    gap: ${small ? 20 : 72}px; padding: ${small ? 24 : 40}px;
    font-family: system-ui, sans-serif; color: #0f172a;
    background: linear-gradient(135deg, #e0ecff 0%, #e0f7fa 100%);
  }
  .text { max-width: ${small ? 260 : 560}px; }
  .icon { width: ${small ? 72 : 96}px; height: ${small ? 72 : 96}px; }
  h1 { font-size: ${small ? 30 : 48}px; margin: ${small ? 4 : 16}px 0 ${small ? 6 : 20}px; }
  p { font-size: ${small ? 16 : 24}px; line-height: 1.4; color: #334155; }
  p + p { margin-top: ${small ? 4 : 12}px; }
  .capture {
    border-radius: 12px; box-shadow: 0 12px 40px rgba(15, 23, 42, 0.25);
  }
</style></head><body>
  <div class="text">
    <img class="icon" alt="" src="data:image/png;base64,${content.icon.toString('base64')}">
    <h1>${escape(content.title)}</h1>
    ${content.lines.map((line) => `<p>${escape(line)}</p>`).join('\n')}
  </div>
  ${captureHtml}
</body></html>`);
  await page.waitForFunction(() =>
    [...document.images].every((image) => image.complete),
  );
  await page.screenshot({
    path,
    clip: { x: 0, y: 0, width: size.width, height: size.height },
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { out: { type: 'string', default: 'store/images' } },
  });
  const outDir = resolve(REPOSITORY_ROOT, values.out);
  const images = await produceStoreImages({
    outDir,
    log: (line) => console.log(line),
  });
  for (const path of Object.values(images)) {
    console.log(`wrote ${relative(REPOSITORY_ROOT, path)}`);
  }
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1])) {
  await main();
}
