/**
 * "Ask about this page": reading the active tab's readable text. The
 * background injects the reader with `scripting` under the `activeTab`
 * grant and cuts the text to the protocol's limit; the backend picks the
 * passages that fit the context budget.
 */
import { browser } from 'wxt/browser';
import { z } from 'zod';
import { t } from './i18n';
import { preparePageText, type PreparedPage } from './page-text';

/** Path of the reader script in the built extension. */
export const PAGE_READER_PATH = '/page-reader.js';

// The reader's result, before trimming to the protocol's limits.
const readPageResultSchema = z.object({
  title: z.string(),
  url: z.string(),
  text: z.string(),
});

/** Thrown when a page cannot be read; the message is for the user. */
export class PageReadError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PageReadError';
  }
}

/**
 * Injects the reader into a tab and prepares its text. Without a token
 * budget the whole readable text is kept, up to the protocol's character
 * limit, because the backend sends only the passages that match each
 * question. Throws a PageReadError when the tab cannot be scripted or
 * yields no text.
 */
export async function readTabPage(
  tabId: number,
  budget = Number.POSITIVE_INFINITY,
): Promise<PreparedPage> {
  let results;
  try {
    results = await browser.scripting.executeScript({
      target: { tabId },
      files: [PAGE_READER_PATH],
    });
  } catch (error) {
    throw new PageReadError(
      t(
        'pageCannotRead',
        error instanceof Error ? error.message : String(error),
      ),
      { cause: error },
    );
  }
  const parsed = readPageResultSchema.safeParse(results[0]?.result);
  if (!parsed.success || parsed.data.text.trim() === '') {
    throw new PageReadError(t('pageNoText'));
  }
  return preparePageText(parsed.data, budget);
}
