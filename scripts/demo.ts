/**
 * `npm run demo`: builds the extension, starts the backend on a free port
 * with a fresh database, loads the extension in headless Chromium and asks
 * three questions through the real side panel: an easy one, a hard one and
 * the easy one again. Prints a transcript and saves screenshots of the side
 * panel and the popup under demo-output/.
 *
 * Options:
 *   --json          print, as the last line, one JSON object with the results
 *   --out DIR       where screenshots go (default demo-output)
 *
 * Provider keys in the environment are ignored: every tier runs on the
 * offline demo model, so the demo needs no network and costs nothing.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
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
  type AnswerShown,
  type ExtensionBrowser,
} from './harness/browser';
import { fetchUsage, readInstallToken } from './harness/install';

export const DEMO_QUESTIONS = [
  'What is the capital of France?',
  'Prove that there are infinitely many prime numbers, then implement a ' +
    'sieve of Eratosthenes in TypeScript and analyze its time complexity ' +
    'step by step.',
  'What is the capital of France?',
] as const;

interface DemoResult {
  questions: Array<{
    question: string;
    /** `done`, or the panel's status for an answer that did not finish. */
    status: string;
    tier: string;
    model: string;
    fromCache: boolean;
    inputTokens: number;
    outputTokens: number;
    charged: number;
    answer: string;
  }>;
  usage: { allowance: number; used: number; remaining: number };
  screenshots: string[];
  /** What went wrong: failed answers, or popup figures unlike the ledger's. */
  problems: string[];
}

async function runDemo(options: {
  outDir: string;
  log: (line: string) => void;
}): Promise<DemoResult> {
  const { log } = options;
  const workDir = mkdtempSync(join(tmpdir(), 'tokenwise-demo-'));
  const port = await findFreePort();
  const backendUrl = `http://127.0.0.1:${port}`;
  let backend: RunningBackend | undefined;
  let browser: ExtensionBrowser | undefined;

  try {
    log(`Building the extension for ${backendUrl} ...`);
    const extensionDir = await buildExtension({
      backendUrl,
      outDir: join(workDir, 'build'),
    });

    log('Starting the backend with a fresh database ...');
    backend = await startBackend({
      port,
      dataDir: join(workDir, 'data'),
      logFile: join(options.outDir, 'backend.log'),
    });

    log('Loading the extension in headless Chromium ...');
    browser = await launchExtension({ extensionDir });
    const sidePanel = await browser.openSidePanel();

    const answers: Array<{ question: string; shown: AnswerShown }> = [];
    const problems: string[] = [];
    for (const question of DEMO_QUESTIONS) {
      const shown = await askInSidePanel(sidePanel, question);
      answers.push({ question, shown });
      log('');
      log(`Q: ${question}`);
      if (shown.status !== 'done') {
        const shownText = await sidePanel
          .getByTestId('answer')
          .nth(answers.length - 1)
          .innerText();
        const sentence = shownText.replace(/\s+/g, ' ').trim();
        problems.push(`"${question}" ended as ${shown.status}: ${sentence}`);
        log(`   not answered (${shown.status}): ${sentence.slice(0, 240)}`);
        continue;
      }
      log(
        `   ${shown.fromCache ? 'from cache, free' : `${shown.tier} tier, ${shown.model}`}: ` +
          `${shown.inputTokens} in, ${shown.outputTokens} out, charged ${shown.charged}`,
      );
      log(`A: ${shown.text.replace(/\s+/g, ' ').slice(0, 240)}`);
    }

    mkdirSync(options.outDir, { recursive: true });
    const sidePanelShot = join(options.outDir, 'side-panel.png');
    await sidePanel.screenshot({ path: sidePanelShot, fullPage: true });

    const popup = await browser.openPopup();
    const hud = await readHud(popup);
    const popupShot = join(options.outDir, 'popup.png');
    await popup.screenshot({ path: popupShot, fullPage: true });

    const token = await readInstallToken(browser.serviceWorker);
    const usage = await fetchUsage(backendUrl, token);
    log('');
    log(
      `Backend ledger: ${usage.used} used, ${usage.remaining} remaining of ${usage.allowance}.`,
    );
    log(`Popup shows:    ${hud.used} used, ${hud.remaining} remaining.`);
    if (hud.used !== usage.used || hud.remaining !== usage.remaining) {
      problems.push(
        `The popup shows ${hud.used} used and ${hud.remaining} remaining, but the backend's /v1/usage says ${usage.used} and ${usage.remaining}.`,
      );
    }

    return {
      questions: answers.map(({ question, shown }) => ({
        question,
        status: shown.status,
        tier: shown.tier,
        model: shown.model,
        fromCache: shown.fromCache,
        inputTokens: shown.inputTokens,
        outputTokens: shown.outputTokens,
        charged: shown.charged,
        answer: shown.text,
      })),
      usage: {
        allowance: usage.allowance,
        used: usage.used,
        remaining: usage.remaining,
      },
      screenshots: [sidePanelShot, popupShot].map((path) =>
        relative(REPOSITORY_ROOT, path),
      ),
      problems,
    };
  } finally {
    await browser?.close();
    await backend?.stop();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      json: { type: 'boolean', default: false },
      out: { type: 'string', default: 'demo-output' },
    },
  });
  const outDir = resolve(REPOSITORY_ROOT, values.out);
  const log = (line: string) => console.log(line);

  const result = await runDemo({ outDir, log });
  log('');
  log(`Screenshots: ${result.screenshots.join(', ')}`);
  for (const problem of result.problems) {
    console.error(`Problem: ${problem}`);
  }
  if (result.problems.length === 0) {
    log('Every answer finished and the popup matches the backend.');
  }
  if (values.json) {
    console.log(JSON.stringify(result));
  }
  if (result.problems.length > 0) {
    process.exitCode = 1;
  }
}

await main();
