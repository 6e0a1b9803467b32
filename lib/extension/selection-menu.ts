/**
 * The context-menu entries. "Ask Tokenwise about the selection" hands the
 * selected text to the side panel through `storage.local`, because the
 * panel may not be open yet when the entry is clicked. "Open Tokenwise on
 * this page" opens the panel, and its click grants activeTab on the tab, so
 * the panel's "Ask about this page" can then read it.
 */
import { browser } from 'wxt/browser';
import { z } from 'zod';
import { REQUEST_LIMITS } from '../protocol';
import { t } from './i18n';
import { PENDING_SELECTION_STORAGE_KEY } from './storage-keys';

/** Id of the context-menu entry for selected text. */
export const SELECTION_MENU_ID = 'ask-about-selection';

/** Id of the context-menu entry on a page without a selection. */
export const PAGE_MENU_ID = 'open-on-page';

/** Selected text older than this is not put into the panel: 2 minutes. */
export const PENDING_SELECTION_MAX_AGE_MS = 2 * 60 * 1000;

export const pendingSelectionSchema = z.object({
  text: z.string(),
  /** Address of the page the text was selected on. */
  url: z.string().optional(),
  /** Milliseconds since the epoch. */
  createdAt: z.number(),
});
export type PendingSelection = z.infer<typeof pendingSelectionSchema>;

/** Creates the context-menu entries; call once the extension is installed. */
export function createSelectionMenu(): void {
  browser.contextMenus.create({
    id: SELECTION_MENU_ID,
    title: t('selectionMenuTitle'),
    contexts: ['selection'],
  });
  browser.contextMenus.create({
    id: PAGE_MENU_ID,
    title: t('pageMenuTitle'),
    contexts: ['page'],
  });
}

/** Stores the selected text for the side panel, cut to the question limit. */
export async function storePendingSelection(
  text: string,
  url: string | undefined,
  now = Date.now(),
): Promise<void> {
  const pending: PendingSelection = {
    text: text.trim().slice(0, REQUEST_LIMITS.questionChars - 200),
    url,
    createdAt: now,
  };
  await browser.storage.local.set({ [PENDING_SELECTION_STORAGE_KEY]: pending });
}

/**
 * Removes and returns the pending selection, when there is one younger
 * than PENDING_SELECTION_MAX_AGE_MS.
 */
export async function takePendingSelection(
  now = Date.now(),
): Promise<PendingSelection | undefined> {
  const stored = await browser.storage.local.get(PENDING_SELECTION_STORAGE_KEY);
  const parsed = pendingSelectionSchema.safeParse(
    stored[PENDING_SELECTION_STORAGE_KEY],
  );
  if (!parsed.success) {
    return undefined;
  }
  await browser.storage.local.remove(PENDING_SELECTION_STORAGE_KEY);
  if (now - parsed.data.createdAt > PENDING_SELECTION_MAX_AGE_MS) {
    return undefined;
  }
  return parsed.data;
}

/** Builds the draft question the panel shows for a selection. */
export function draftQuestionAbout(selection: PendingSelection): string {
  return t('selectionDraft', selection.text);
}
