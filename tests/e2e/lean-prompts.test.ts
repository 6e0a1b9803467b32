/**
 * Lean prompts in the real side panel: the composer previews the context
 * of a draft, and each answer shows what went with it, including the
 * earlier turns that the running summary stands for.
 */
import { mkdtempSync } from 'node:fs';
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
  type ExtensionBrowser,
} from '../../scripts/harness/browser';
import { SUMMARY_INSTRUCTION } from '../../server/context/summary-request';
import { startFakeProvider, type FakeProvider } from '../fake-provider';

const SCREENSHOTS = join(REPOSITORY_ROOT, 'test-results/screenshots');

const LONG_ANSWER =
  'The river rises in the hills and flows to the sea. '.repeat(70);

const QUESTIONS = [
  'Name a river in France.',
  'Name a river in Spain.',
  'Name a river in Italy.',
  'Name a river in Poland.',
];

/** Whether a provider request asked for a running summary, in any format. */
function isSummaryCall(body: unknown): boolean {
  const firstLine = SUMMARY_INSTRUCTION.split('\n')[0] as string;
  return JSON.stringify(body).includes(firstLine);
}

/** Returns the context line under the answer at `index`. */
function answerContext(page: Page, index: number) {
  return page.getByTestId('answer').nth(index).getByTestId('answer-context');
}

describe('lean prompts in the side panel', () => {
  let provider: FakeProvider;
  let backend: RunningBackend;
  let browser: ExtensionBrowser;
  let panel: Page;

  beforeAll(async () => {
    provider = await startFakeProvider();
    backend = await startBackend({
      port: inject('backendPort'),
      dataDir: mkdtempSync(join(tmpdir(), 'tokenwise-e2e-')),
      logFile: join(
        REPOSITORY_ROOT,
        'test-results/e2e-lean-prompts-backend.log',
      ),
      env: {
        OPENAI_API_KEY: 'test-openai-key',
        OPENAI_BASE_URL: provider.openaiBaseUrl,
        GEMINI_API_KEY: 'test-gemini-key',
        GEMINI_BASE_URL: provider.geminiBaseUrl,
      },
    });
    browser = await launchExtension({ extensionDir: inject('extensionDir') });
    panel = await browser.openSidePanel();
  });

  afterAll(async () => {
    await browser?.close();
    await backend?.stop();
    await provider?.close();
  });

  it('shows context figures and summarized turns', async () => {
    // Answers longer than a fold block, so each turn can be summarized.
    for (let index = 0; index < 3; index++) {
      provider.enqueue({ type: 'answer', text: LONG_ANSWER });
    }
    for (const question of QUESTIONS.slice(0, 3)) {
      expect((await askInSidePanel(panel, question)).status).toBe('done');
    }
    const first = answerContext(panel, 0);
    expect(await first.innerText()).toMatch(/^Context: \d+ of 3,000 tokens$/);
    expect(
      provider.requests.some((request) => isSummaryCall(request.body)),
    ).toBe(false);

    // Three earlier turns: the default keeps two whole and summarizes one.
    await panel.getByTestId('question-input').fill(QUESTIONS[3] as string);
    const preview = panel.getByTestId('context-preview');
    await expect
      .poll(() => preview.innerText(), { timeout: 10_000 })
      .toMatch(
        /^Context: about [\d,]+ of 3,000 tokens · 1 earlier turn summarized$/,
      );
    expect(await preview.getAttribute('data-summarized-turns')).toBe('1');
    await panel.screenshot({
      path: join(SCREENSHOTS, 'side-panel-context-preview.png'),
    });

    const shown = await askInSidePanel(panel, QUESTIONS[3] as string);
    expect(shown.status).toBe('done');
    const context = answerContext(panel, 3);
    const text = await context.innerText();
    expect(text).toContain('1 earlier turn summarized');
    expect(text).toMatch(/summary written for [\d,]+ tokens/);
    expect(await context.getAttribute('data-summarized-turns')).toBe('1');
    expect(await context.getAttribute('data-dropped-turns')).toBe('0');
    const sent = Number(await context.getAttribute('data-sent-tokens'));
    expect(sent).toBeGreaterThan(0);
    expect(sent).toBeLessThanOrEqual(3_000);
    expect(
      provider.requests.filter((request) => isSummaryCall(request.body)),
    ).toHaveLength(1);

    const next = await askInSidePanel(panel, 'And a river in Greece?');
    expect(next.status).toBe('done');
    expect(await answerContext(panel, 4).innerText()).toContain(
      '2 earlier turns summarized',
    );
    await panel.screenshot({
      path: join(SCREENSHOTS, 'side-panel-context-summary.png'),
      fullPage: true,
    });
  });
});
