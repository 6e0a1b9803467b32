import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { fakeBrowser } from 'wxt/testing';
import { transformUrl } from '../../../components/sidepanel/AnswerMarkdown';
import { t } from '../../../lib/extension/i18n';
import {
  PENDING_SELECTION_MAX_AGE_MS,
  draftQuestionAbout,
  storePendingSelection,
  takePendingSelection,
} from '../../../lib/extension/selection-menu';

const MESSAGES_PATH = resolve(
  import.meta.dirname,
  '../../../public/_locales/en/messages.json',
);

describe('t', () => {
  it('substitutes numbered placeholders', () => {
    expect(t('chargedTokens', '1,234')).toBe('charged 1,234 tokens');
    expect(t('routedReasons', 'cheap', 'short question')).toBe(
      'Routed to the cheap model: short question.',
    );
  });

  it('leaves missing substitutions visible', () => {
    expect(t('chargedTokens')).toBe('charged $1 tokens');
  });

  it('reads every message from messages.json', () => {
    const messages = JSON.parse(readFileSync(MESSAGES_PATH, 'utf8'));
    for (const [name, entry] of Object.entries(messages)) {
      const message = (entry as { message: unknown }).message;
      expect(typeof message, name).toBe('string');
      expect((message as string).length, name).toBeGreaterThan(0);
      // Chrome and Firefox read $name$ as a named placeholder.
      expect(message as string, name).not.toMatch(/\$[a-z_]+\$/i);
    }
  });
});

describe('pending selection', () => {
  beforeEach(() => fakeBrowser.reset());

  it('hands the selection over once', async () => {
    await storePendingSelection(
      '  Le Havre  ',
      'http://127.0.0.1/seine',
      1_000,
    );
    const taken = await takePendingSelection(2_000);
    expect(taken?.text).toBe('Le Havre');
    expect(taken?.url).toBe('http://127.0.0.1/seine');
    expect(await takePendingSelection(2_000)).toBeUndefined();
  });

  it('drops a stale selection', async () => {
    await storePendingSelection('Le Havre', undefined, 1_000);
    const taken = await takePendingSelection(
      1_000 + PENDING_SELECTION_MAX_AGE_MS + 1,
    );
    expect(taken).toBeUndefined();
  });

  it('quotes the selection in the draft', () => {
    expect(draftQuestionAbout({ text: 'Le Havre', createdAt: 0 })).toBe(
      'Explain this:\n\n"Le Havre"',
    );
  });
});

describe('transformUrl', () => {
  it.each([
    ['https://example.org/a', 'https://example.org/a'],
    ['http://127.0.0.1/a', 'http://127.0.0.1/a'],
    ['mailto:someone@example.org', 'mailto:someone@example.org'],
    ['#section', '#section'],
    ['/relative/path', '/relative/path'],
    ['javascript:alert(1)', ''],
    ['JavaScript:alert(1)', ''],
    ['data:text/html,<script>alert(1)</script>', ''],
    ['vbscript:msgbox', ''],
    ['chrome-extension://abc/options.html', ''],
  ])('turns %s into "%s"', (url, expected) => {
    expect(transformUrl(url)).toBe(expected);
  });
});
