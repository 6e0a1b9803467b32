/**
 * The extension as a user feels it, in headless Chromium against a real
 * backend and the fake provider: send to first token painted, a cached
 * answer painted, popup opened to meter painted, service worker start-up,
 * and the sizes of the built bundles.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import {
  findFreePort,
  startBackend,
  type RunningBackend,
} from '../../scripts/harness/backend';
import {
  askInSidePanel,
  buildExtension,
  CHROMIUM_PATH,
  launchExtension,
  type ExtensionBrowser,
} from '../../scripts/harness/browser';
import {
  startFakeProvider,
  type FakeProvider,
} from '../../tests/fake-provider';
import { summarize, type Distribution } from '../stats';
import { measureBundles, type BundleSizes } from './bundle-sizes';

/** Silence the fake provider keeps before the first byte of each answer. */
export const PROVIDER_DELAY_MS = 100;

/** Distinct questions, so no sample is offered another's answer as similar. */
const QUESTIONS = [
  'What is the capital of France?',
  'How many legs does a spider have?',
  'Who wrote Pride and Prejudice?',
  'What is the boiling point of water in Fahrenheit?',
  'Which planet is known as the red planet?',
  'What language is spoken in Brazil?',
  'How many minutes are in a day?',
  'What is the chemical symbol for gold?',
  'Who painted the Mona Lisa?',
  'What is the largest ocean on Earth?',
  'How many strings does a violin have?',
  'What year did the Berlin Wall fall?',
];

/** Milliseconds measured in the page, from `performance.now()`. */
interface PaintTiming {
  /** Until the text is in the DOM. */
  shownMs: number;
  /** Until the first frame after that has been produced. */
  paintedMs: number;
  /**
   * Until the answer shows its tier, which the backend's route event sets
   * before the provider is called; undefined when it came with the text.
   */
  routeMs?: number;
}

export interface ExtensionResult {
  /** The browser's `--version` line, such as `Chromium 156.0.8078.114`. */
  browserVersion: string;
  samples: number;
  providerDelayMs: number;
  /** Send to first token, the provider's delay subtracted. */
  firstToken?: { shown: Distribution; painted: Distribution };
  /**
   * Send to the route event of a fresh answer: the panel, the background
   * and the backend up to its provider call.
   */
  routeMs?: Distribution;
  /** Send to a repeated question's answer from the local cache. */
  cachedAnswer?: { shown: Distribution; painted: Distribution };
  /** Samples whose repeat was not served from the cache. */
  cacheMisses: number;
  /** Status of each answer that ended without text, such as `error`. */
  failedAnswers: string[];
  /** Navigation start of the popup to its meter painted. */
  popupMeter?: { shown: Distribution; painted: Distribution };
  /** Stopped to running service worker, through the DevTools protocol. */
  serviceWorkerStartMs?: Distribution;
  serviceWorkerError?: string;
  bundles: BundleSizes;
  /** The machine's one-minute load average before and after the measurements. */
  loadAverage: { start: number; end: number };
}

/** Builds the extension, starts the servers and Chromium, and measures. */
export async function benchmarkExtension(options: {
  quick: boolean;
  logDir: string;
  report: (line: string) => void;
}): Promise<ExtensionResult> {
  const samples = options.quick ? 3 : 10;
  const loadAverageAtStart = readLoadAverage();
  const workDir = mkdtempSync(join(tmpdir(), 'tokenwise-bench-extension-'));
  let provider: FakeProvider | undefined;
  let backend: RunningBackend | undefined;
  let browser: ExtensionBrowser | undefined;

  try {
    provider = await startFakeProvider();
    const port = await findFreePort();
    options.report('  extension: building');
    const extensionDir = await buildExtension({
      backendUrl: `http://127.0.0.1:${port}`,
      outDir: join(workDir, 'build'),
    });
    const bundles = measureBundles(extensionDir);

    backend = await startBackend({
      port,
      dataDir: join(workDir, 'data'),
      logFile: join(options.logDir, 'backend-extension.log'),
      env: {
        OPENAI_API_KEY: 'bench-openai-key',
        OPENAI_BASE_URL: provider.openaiBaseUrl,
        GEMINI_API_KEY: 'bench-gemini-key',
        GEMINI_BASE_URL: provider.geminiBaseUrl,
      },
    });
    browser = await launchExtension({ extensionDir });
    options.report('  extension: measuring the side panel');

    const sidePanel = await browser.openSidePanel();
    // The first answer also registers the install and warms every layer.
    await askInSidePanel(sidePanel, 'Hello, are you there?');

    const firstShown: number[] = [];
    const firstPainted: number[] = [];
    const routed: number[] = [];
    const cachedShown: number[] = [];
    const cachedPainted: number[] = [];
    let cacheMisses = 0;
    const failedAnswers: string[] = [];
    for (let index = 0; index < samples; index++) {
      const question = QUESTIONS[index % QUESTIONS.length] as string;
      provider.enqueue({ type: 'slow-first-byte', delayMs: PROVIDER_DELAY_MS });
      const fresh = await timeAnswer(sidePanel, question);
      if (fresh.status !== 'done' || fresh.timing === null) {
        failedAnswers.push(fresh.status);
        continue;
      }
      firstShown.push(fresh.timing.shownMs - PROVIDER_DELAY_MS);
      firstPainted.push(fresh.timing.paintedMs - PROVIDER_DELAY_MS);
      if (fresh.timing.routeMs !== undefined) {
        routed.push(fresh.timing.routeMs);
      }

      const repeat = await timeAnswer(sidePanel, question);
      if (repeat.status !== 'done' || repeat.timing === null) {
        failedAnswers.push(repeat.status);
      } else if (repeat.fromCache) {
        cachedShown.push(repeat.timing.shownMs);
        cachedPainted.push(repeat.timing.paintedMs);
      } else {
        cacheMisses += 1;
      }
    }

    options.report('  extension: measuring the popup');
    const meterShown: number[] = [];
    const meterPainted: number[] = [];
    for (let index = 0; index < samples; index++) {
      const timing = await timePopupMeter(browser);
      meterShown.push(timing.shownMs);
      meterPainted.push(timing.paintedMs);
    }

    options.report('  extension: measuring service worker start-up');
    let serviceWorkerStartMs: Distribution | undefined;
    let serviceWorkerError: string | undefined;
    try {
      serviceWorkerStartMs = summarize(
        await timeServiceWorkerStarts(browser, samples),
      );
    } catch (error) {
      serviceWorkerError =
        error instanceof Error ? error.message : String(error);
    }

    return {
      browserVersion: readBrowserVersion(),
      samples,
      providerDelayMs: PROVIDER_DELAY_MS,
      firstToken: pair(firstShown, firstPainted),
      routeMs: summarize(routed),
      cachedAnswer: pair(cachedShown, cachedPainted),
      cacheMisses,
      failedAnswers,
      popupMeter: pair(meterShown, meterPainted),
      serviceWorkerStartMs,
      serviceWorkerError,
      bundles,
      loadAverage: { start: loadAverageAtStart, end: readLoadAverage() },
    };
  } finally {
    await browser?.close().catch(() => undefined);
    await backend?.stop().catch(() => undefined);
    await provider?.close().catch(() => undefined);
    rmSync(workDir, { recursive: true, force: true });
  }
}

function readLoadAverage(): number {
  return Math.round((loadavg()[0] ?? 0) * 100) / 100;
}

function readBrowserVersion(): string {
  try {
    const output = execFileSync(CHROMIUM_PATH, ['--version'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return /Chromium [\d.]+/.exec(output)?.[0] ?? output.trim();
  } catch {
    return 'unknown';
  }
}

function pair(
  shown: number[],
  painted: number[],
): { shown: Distribution; painted: Distribution } | undefined {
  const shownSummary = summarize(shown);
  const paintedSummary = summarize(painted);
  if (shownSummary === undefined || paintedSummary === undefined) {
    return undefined;
  }
  return { shown: shownSummary, painted: paintedSummary };
}

/**
 * Asks a question in the side panel and times, inside the page, the click
 * on send to the first text of the new answer: in the DOM, and after the
 * next frame.
 */
async function timeAnswer(
  page: Page,
  question: string,
): Promise<{ timing: PaintTiming | null; status: string; fromCache: boolean }> {
  await page.evaluate(() => {
    const state = globalThis as unknown as {
      benchTiming?: Promise<PaintTiming>;
      benchFrame?: { inFramePhase: boolean };
    };
    // Marks the animation frame phase: from a frame callback until the
    // next task, which runs after that frame's rendering. Text that goes
    // in during this phase is painted by this frame, not the next.
    state.benchFrame ??= (() => {
      const frame = { inFramePhase: false };
      const requestFrame = window.requestAnimationFrame.bind(window);
      window.requestAnimationFrame = (callback) =>
        requestFrame((time) => {
          frame.inFramePhase = true;
          setTimeout(() => (frame.inFramePhase = false));
          callback(time);
        });
      return frame;
    })();
    const frame = state.benchFrame;
    const answerCount = document.querySelectorAll(
      '[data-testid="answer"]',
    ).length;
    const sendButton = document.querySelector('[data-testid="send"]');
    let clickedAt = Number.NaN;
    let routedAt: number | undefined;
    sendButton?.addEventListener(
      'click',
      () => {
        clickedAt = performance.now();
      },
      { capture: true, once: true },
    );
    state.benchTiming = new Promise((resolveTiming) => {
      const observer = new MutationObserver(() => {
        const answer = document.querySelectorAll('[data-testid="answer"]')[
          answerCount
        ];
        const tier = answer
          ?.querySelector('[data-testid="answer-meta"]')
          ?.getAttribute('data-tier');
        if (routedAt === undefined && tier) {
          routedAt = performance.now();
        }
        const text =
          answer?.querySelector('[data-testid="answer-text"]')?.textContent ??
          '';
        if (text.trim() === '') {
          return;
        }
        observer.disconnect();
        const shownAt = performance.now();
        // A task queued now runs once the frame that paints the text has
        // been produced: this frame when the text went in during its frame
        // callbacks, else the next one, after its callback. This code has
        // no named functions, because tsx compiles with esbuild's keepNames,
        // which wraps them in a __name helper that the page lacks.
        new Promise<void>((resolveFrame) => {
          if (frame.inFramePhase) {
            setTimeout(resolveFrame);
          } else {
            requestAnimationFrame(() => setTimeout(resolveFrame));
          }
        }).then(() =>
          resolveTiming({
            shownMs: shownAt - clickedAt,
            paintedMs: performance.now() - clickedAt,
            routeMs:
              routedAt === undefined || routedAt === shownAt
                ? undefined
                : routedAt - clickedAt,
          }),
        );
      });
      observer.observe(document.body, {
        childList: true,
        subtree: true,
        characterData: true,
      });
    });
  });

  const shown = await askInSidePanel(page, question);
  // The answer has finished, so a shown text resolves within a frame; an
  // answer without text (an error) resolves to null after a second.
  const timing = await page.evaluate(() =>
    Promise.race([
      (globalThis as unknown as { benchTiming: Promise<PaintTiming> })
        .benchTiming,
      new Promise<null>((resolveEmpty) =>
        setTimeout(() => resolveEmpty(null), 1_000),
      ),
    ]),
  );
  return { timing, status: shown.status, fromCache: shown.fromCache };
}

/** Opens the popup in a new tab and times navigation start to the meter. */
async function timePopupMeter(browser: ExtensionBrowser): Promise<PaintTiming> {
  const page = await browser.context.newPage();
  try {
    await page.addInitScript(() => {
      const state = globalThis as unknown as { benchMeter?: PaintTiming };
      const observer = new MutationObserver(() => {
        if (document.querySelector('[data-testid="meter"]') === null) {
          return;
        }
        observer.disconnect();
        const shownMs = performance.now();
        requestAnimationFrame(() =>
          setTimeout(() => {
            state.benchMeter = { shownMs, paintedMs: performance.now() };
          }),
        );
      });
      observer.observe(document, { childList: true, subtree: true });
    });
    await page.goto(`chrome-extension://${browser.extensionId}/popup.html`);
    await page.waitForFunction(
      () =>
        (globalThis as unknown as { benchMeter?: PaintTiming }).benchMeter !==
        undefined,
      undefined,
      { timeout: 15_000 },
    );
    return await page.evaluate(
      () => (globalThis as unknown as { benchMeter: PaintTiming }).benchMeter,
    );
  } finally {
    await page.close();
  }
}

/**
 * Stops the extension's service worker and starts it again through the
 * DevTools protocol, timing the start until Chromium reports it running
 * (its script has been evaluated). Measured from Node, so each sample also
 * contains one protocol round trip.
 */
async function timeServiceWorkerStarts(
  browser: ExtensionBrowser,
  samples: number,
): Promise<number[]> {
  const page = await browser.openPopup();
  const session = await browser.context.newCDPSession(page);
  const scopeURL = `chrome-extension://${browser.extensionId}/`;
  let latestStatus = '';
  const waiters: Array<{ status: string; resolve: () => void }> = [];
  session.on('ServiceWorker.workerVersionUpdated', (event) => {
    for (const version of event.versions) {
      if (!version.scriptURL.startsWith(scopeURL)) {
        continue;
      }
      latestStatus = version.runningStatus;
      for (const waiter of [...waiters]) {
        if (waiter.status === latestStatus) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve();
        }
      }
    }
  });
  const waitForStatus = (status: string) =>
    new Promise<void>((resolveStatus, reject) => {
      if (latestStatus === status) {
        resolveStatus();
        return;
      }
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `The service worker did not reach "${status}" within 10 s (last status "${latestStatus}").`,
            ),
          ),
        10_000,
      );
      waiters.push({
        status,
        resolve: () => {
          clearTimeout(timer);
          resolveStatus();
        },
      });
    });

  try {
    await session.send('ServiceWorker.enable');
    const durations: number[] = [];
    for (let index = 0; index < samples; index++) {
      await session.send('ServiceWorker.stopAllWorkers');
      await waitForStatus('stopped');
      const startedAt = performance.now();
      const running = waitForStatus('running');
      await session.send('ServiceWorker.startWorker', { scopeURL });
      await running;
      durations.push(performance.now() - startedAt);
    }
    return durations;
  } finally {
    await session.detach().catch(() => undefined);
    await page.close().catch(() => undefined);
  }
}
