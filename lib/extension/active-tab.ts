/**
 * The active tab, for "Ask about this page", and the host permission
 * pattern of an origin. Kept apart from page-context.ts, which loads the
 * tokenizer, so the popup and side panel bundles that import this stay
 * small.
 */
import { browser } from 'wxt/browser';

/** The active tab; `url` is absent while the browser hides it. */
export interface ActiveTab {
  id: number;
  url?: string;
}

/**
 * Finds the active tab of the caller's window. Returns undefined when there
 * is none or its address is known and is not a web page. Chrome and Firefox
 * hide the address of a tab the extension may not access yet (no host
 * permission and no activeTab grant), so `url` is then absent and only an
 * attempt to read the tab tells whether it can be read.
 */
export async function findActiveTab(): Promise<ActiveTab | undefined> {
  const [tab] = await browser.tabs.query({
    active: true,
    currentWindow: true,
  });
  if (tab?.id === undefined) {
    return undefined;
  }
  if (!tab.url) {
    return { id: tab.id };
  }
  if (!/^https?:/.test(tab.url)) {
    return undefined;
  }
  return { id: tab.id, url: tab.url };
}

/**
 * Tells whether a `scripting.executeScript` failure means the extension
 * has no access to the tab yet, as opposed to a page no extension may
 * script. Matches the messages of Chrome 156 ("Cannot access contents of
 * the page...") and Firefox ("Missing host permission for the tab").
 */
export function isTabAccessError(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  return /Cannot access contents of|Missing host permission/i.test(message);
}

/** Returns the host permission pattern that covers a page's origin. */
export function originPattern(url: string): string {
  return `${new URL(url).origin}/*`;
}
