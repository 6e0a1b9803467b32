/**
 * Runs inside a web page, injected with `scripting.executeScript`: extracts
 * the page's readable text with Mozilla Readability, falling back to the
 * body's visible text when Readability finds no article.
 */
import { Readability } from '@mozilla/readability';
import type { PageContext } from '../protocol';

/** Reads the current document's title, address and readable text. */
export function readCurrentPage(): PageContext {
  // Readability changes the document it parses, so it gets a copy.
  const copy = document.cloneNode(true) as Document;
  const article = new Readability(copy).parse();
  const text = article?.textContent?.trim() || document.body?.innerText || '';
  return {
    title: article?.title || document.title || location.href,
    url: location.href,
    text,
  };
}
