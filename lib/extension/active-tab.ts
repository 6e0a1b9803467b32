/**
 * The active tab and its origin, for the page-reading permission request.
 * Kept apart from page-context.ts, which loads the tokenizer, so the popup
 * and side panel bundles that import this stay small.
 */
import { browser } from 'wxt/browser';

/** Finds the active tab of the caller's window; undefined unless it is a web page. */
export async function findActiveWebTab(): Promise<
  { id: number; url: string } | undefined
> {
  const [tab] = await browser.tabs.query({
    active: true,
    currentWindow: true,
  });
  if (tab?.id === undefined || !tab.url || !/^https?:/.test(tab.url)) {
    return undefined;
  }
  return { id: tab.id, url: tab.url };
}

/** Returns the host permission pattern that covers a page's origin. */
export function originPattern(url: string): string {
  return `${new URL(url).origin}/*`;
}
