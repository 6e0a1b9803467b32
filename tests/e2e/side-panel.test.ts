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
  readAnswer,
  type ExtensionBrowser,
} from '../../scripts/harness/browser';
import { startFakeProvider, type FakeProvider } from '../fake-provider';

const SCREENSHOTS = join(REPOSITORY_ROOT, 'test-results/screenshots');

const MARKDOWN_ANSWER = [
  '## Steps',
  '',
  '1. Install it',
  '2. Run **it**',
  '',
  '| Tier | Cost |',
  '| --- | --- |',
  '| cheap | low |',
  '',
  '```js',
  'const answer = 42;',
  '```',
].join('\n');

const HOSTILE_ANSWER = [
  'Before <img src=x onerror="window.__pwned = 1"> after.',
  '',
  '<script>window.__pwned = 2</script>',
  '',
  '[click me](javascript:window.__pwned=3)',
  '',
  '<a href="javascript:window.__pwned=4">raw link</a>',
  '',
  '<div onmouseover="window.__pwned = 5">hover</div>',
].join('\n');

/** Saves the page in light and dark mode under test-results/screenshots. */
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

/** Starts a new chat and waits until the panel shows it empty. */
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

describe('side panel in Chromium', () => {
  let provider: FakeProvider;
  let backend: RunningBackend;
  let browser: ExtensionBrowser;
  let panel: Page;

  beforeAll(async () => {
    provider = await startFakeProvider();
    backend = await startBackend({
      port: inject('backendPort'),
      dataDir: mkdtempSync(join(tmpdir(), 'tokenwise-e2e-')),
      logFile: join(REPOSITORY_ROOT, 'test-results/e2e-side-panel-backend.log'),
      env: {
        OPENAI_API_KEY: 'test-openai-key',
        OPENAI_BASE_URL: provider.openaiBaseUrl,
        GEMINI_API_KEY: 'test-gemini-key',
        GEMINI_BASE_URL: provider.geminiBaseUrl,
        // The questions here share one conversation. Keeping every turn
        // whole keeps running-summary calls out of the scripted answers.
        TOKENWISE_RECENT_TURNS: '50',
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

  it('renders Markdown with a code copy button', async () => {
    provider.enqueue({ type: 'answer', text: MARKDOWN_ANSWER });
    const shown = await askInSidePanel(panel, 'Show me the install steps');
    expect(shown.status).toBe('done');

    const answer = panel.getByTestId('answer').last();
    expect(await answer.locator('h2').innerText()).toBe('Steps');
    expect(await answer.locator('ol > li').count()).toBe(2);
    expect(await answer.locator('table td').first().innerText()).toBe('cheap');
    expect(await answer.locator('strong').innerText()).toBe('it');
    const code = answer.locator('pre code');
    expect(await code.innerText()).toContain('const answer = 42;');
    expect(await code.locator('.hljs-keyword').count()).toBeGreaterThan(0);

    await browser.context.grantPermissions([
      'clipboard-read',
      'clipboard-write',
    ]);
    await answer.getByTestId('copy-code').click();
    await answer.getByText('Copied').waitFor();
    const copied = await panel.evaluate(() => navigator.clipboard.readText());
    expect(copied.trim()).toBe('const answer = 42;');
  });

  it('renders hostile output inert', async () => {
    provider.enqueue({ type: 'answer', text: HOSTILE_ANSWER });
    const shown = await askInSidePanel(panel, 'Say something tricky');
    expect(shown.status).toBe('done');

    const answer = panel.getByTestId('answer-text').last();
    await answer.hover();
    expect(await answer.locator('img').count()).toBe(0);
    expect(await answer.locator('script').count()).toBe(0);
    expect(await answer.locator('[onerror], [onmouseover]').count()).toBe(0);
    const hrefs = await answer
      .locator('a')
      .evaluateAll((links) => links.map((link) => link.getAttribute('href')));
    for (const href of hrefs) {
      expect(href ?? '').not.toMatch(/^javascript:/i);
    }
    // Clicking the former javascript: link must run nothing.
    const link = answer.getByText('click me');
    await link.click();
    expect(
      await panel.evaluate(() => (window as { __pwned?: number }).__pwned),
    ).toBeUndefined();
    expect(await answer.innerText()).toContain('Before');
  });

  it('previews tokens, tier and reasons while typing', async () => {
    await panel.getByTestId('question-input').fill('What is 2 + 2?');
    const preview = panel.getByTestId('question-preview');
    await expect.poll(() => preview.innerText()).toMatch(/About \d+ tokens in/);
    expect(await preview.innerText()).toMatch(
      /likely the (cheap|premium) model: .+/,
    );

    await panel.getByTestId('premium-toggle').check();
    await expect
      .poll(() => preview.innerText())
      .toMatch(/on the premium model as you asked/);
    await panel.getByTestId('premium-toggle').uncheck();
    await panel.getByTestId('question-input').fill('');
  });

  it('asks premium for one question, then retries with premium', async () => {
    await panel.getByTestId('premium-toggle').check();
    const premium = await askInSidePanel(panel, 'Name a French river.');
    expect(premium.tier).toBe('premium');
    expect(await panel.getByTestId('premium-toggle').isChecked()).toBe(false);

    const cheap = await askInSidePanel(panel, 'Name a German river.');
    expect(cheap.tier).toBe('cheap');
    const reasons = panel.getByTestId('answer-reasons').last();
    expect(await reasons.innerText()).toMatch(/^Routed to the cheap model: .+/);

    const count = await panel.getByTestId('answer').count();
    await panel.getByTestId('retry-premium').last().click();
    await panel.waitForFunction((index) => {
      const answers = document.querySelectorAll('[data-testid="answer"]');
      return answers[index]?.getAttribute('data-status') === 'done';
    }, count - 1);
    const retried = await readAnswer(panel, count - 1);
    expect(retried.tier).toBe('premium');
    expect(await panel.getByTestId('answer').count()).toBe(count);
    const lastRequest = provider.requests.at(-1);
    expect(JSON.stringify(lastRequest?.body)).toContain('German river');
  });

  it('keeps a partial answer with a sentence on a fault', async () => {
    provider.enqueue({
      type: 'drop-mid-stream',
      text: 'The first words arrive and then the line goes dead',
      afterDeltas: 3,
    });
    const shown = await askInSidePanel(panel, 'Tell me a long story.');
    expect(shown.status).toBe('error');
    expect(shown.text.length).toBeGreaterThan(0);
    const error = panel.getByTestId('answer-error').last();
    const sentence = await error.innerText();
    expect(sentence).toMatch(/again/i);
    expect(sentence).toContain(
      'The part of the answer that arrived is kept above.',
    );
    expect(sentence).not.toMatch(/upstream_|_failed|_timeout/);
  });

  it('works from the keyboard', async () => {
    await panel.getByTestId('question-input').focus();
    await panel.keyboard.type('What is the capital of Spain?');
    const before = await panel.getByTestId('answer').count();
    await panel.keyboard.press('Enter');
    await panel.waitForFunction((index) => {
      const answers = document.querySelectorAll('[data-testid="answer"]');
      return answers[index]?.getAttribute('data-status') === 'done';
    }, before);

    // Tab from the question box reaches the toggle, the page button and send.
    await panel.getByTestId('question-input').focus();
    await panel.keyboard.press('Tab');
    expect(
      await panel.evaluate(() =>
        document.activeElement?.getAttribute('data-testid'),
      ),
    ).toBe('premium-toggle');
    await panel.keyboard.press('Space');
    expect(await panel.getByTestId('premium-toggle').isChecked()).toBe(true);
    await panel.keyboard.press('Space');

    await panel.getByTestId('toggle-conversations').focus();
    await panel.keyboard.press('Enter');
    await panel.getByTestId('conversation-list').waitFor();
    await panel.keyboard.press('Enter');
    await panel.getByTestId('conversation-list').waitFor({ state: 'detached' });
  });

  it('lists, switches, renames and deletes conversations', async () => {
    const firstTitle = await panel.getByTestId('question').first().innerText();
    await startNewChat(panel);
    await askInSidePanel(panel, 'What is the tallest mountain?');

    await panel.getByTestId('toggle-conversations').click();
    const items = panel.getByTestId('conversation');
    expect(await items.count()).toBe(2);
    expect(await items.first().getAttribute('data-current')).toBe('true');
    await screenshotBothSchemes(panel, 'side-panel-conversations');

    await items.nth(1).getByTestId('open-conversation').click();
    await expect
      .poll(() => panel.getByTestId('question').first().innerText())
      .toBe(firstTitle);

    await panel.getByTestId('toggle-conversations').click();
    await items.first().getByTestId('rename-conversation').click();
    const input = panel.getByTestId('conversation-title-input');
    await input.fill('Mountains');
    await input.press('Enter');
    await expect
      .poll(() => items.first().getByTestId('open-conversation').innerText())
      .toBe('Mountains');

    await items.first().getByTestId('delete-conversation').click();
    await expect.poll(() => items.count()).toBe(1);
    expect(await items.first().innerText()).not.toContain('Mountains');
  });

  it('offers a similar earlier answer, then uses it', async () => {
    await panel
      .getByTestId('new-conversation')
      .click()
      .catch(() => undefined);
    const original = await askInSidePanel(panel, 'How do I reset my card PIN?');
    expect(original.status).toBe('done');
    const calls = provider.requests.length;

    await startNewChat(panel);
    await panel
      .getByTestId('question-input')
      .fill('How can I reset the PIN of my card?');
    await panel.getByTestId('send').click();
    const offer = panel.getByTestId('similar-offer');
    await offer.waitFor();
    expect(await offer.innerText()).toContain(
      'A similar question was answered before',
    );
    expect(await panel.getByTestId('similar-question').innerText()).toBe(
      'How do I reset my card PIN?',
    );
    expect(provider.requests.length).toBe(calls);
    await screenshotBothSchemes(panel, 'side-panel-similar-offer');

    await panel.getByTestId('use-similar').click();
    await panel.getByTestId('answer-text').last().waitFor();
    await expect
      .poll(async () => (await readAnswer(panel, 0)).status)
      .toBe('done');
    const used = await readAnswer(panel, 0);
    expect(used.fromCache).toBe(true);
    expect(used.charged).toBe(0);
    expect(used.text).toBe(original.text);
    expect(provider.requests.length).toBe(calls);
  });

  it('asks anyway after declining an offer', async () => {
    await startNewChat(panel);
    await panel
      .getByTestId('question-input')
      .fill('How can I reset the PIN of my card?');
    await panel.getByTestId('send').click();
    await panel.getByTestId('similar-offer').waitFor();
    const calls = provider.requests.length;

    await panel.getByTestId('ask-anyway').click();
    await expect
      .poll(async () => (await readAnswer(panel, 0)).status)
      .toBe('done');
    const answered = await readAnswer(panel, 0);
    expect(answered.fromCache).toBe(false);
    expect(provider.requests.length).toBe(calls + 1);
    await screenshotBothSchemes(panel, 'side-panel');
  });
});
