import { describe, expect, it } from 'vitest';
import { preparePageText } from '../../../lib/extension/page-text';
import { countTokens } from '../../../lib/tokens';

const PAGE = { title: 'Paris', url: 'http://127.0.0.1/paris' };

describe('preparePageText', () => {
  it('keeps a short page whole', () => {
    const page = preparePageText({ ...PAGE, text: 'Paris is big.' });
    expect(page.text).toBe('Paris is big.');
    expect(page.trimmed).toBe(false);
    expect(page.tokens).toBe(countTokens('Paris is big.'));
    expect(page.originalTokens).toBe(page.tokens);
  });

  it('collapses blank space', () => {
    const page = preparePageText({
      ...PAGE,
      text: '  One\t\t two \n\n\n\n three  ',
    });
    expect(page.text).toBe('One two\n\nthree');
  });

  it('trims a long page to the budget', () => {
    const text = 'The river Seine flows through Paris. '.repeat(2_000);
    const page = preparePageText({ ...PAGE, text }, 500);

    expect(page.trimmed).toBe(true);
    expect(page.tokens).toBeLessThanOrEqual(500);
    expect(page.tokens).toBeGreaterThan(400);
    expect(page.tokens).toBe(countTokens(page.text));
    expect(page.originalTokens).toBeGreaterThan(10_000);
    expect(text.startsWith(page.text)).toBe(true);
  });

  it('cuts at a word boundary', () => {
    const text = 'alpha beta gamma delta '.repeat(1_000);
    const page = preparePageText({ ...PAGE, text }, 100);
    expect(page.text.endsWith(' ')).toBe(false);
    expect(text.startsWith(`${page.text} `)).toBe(true);
  });
});
