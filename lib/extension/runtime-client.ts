/**
 * The extension pages' side of the background: the chat port and the
 * one-off requests, with every response parsed before use.
 */
import { browser } from 'wxt/browser';
import type { ChatMessage, PageContext, RequestedTier } from '../protocol';
import type { ChatPort } from './chat-port';
import { CHAT_PORT_NAME } from './port-messages';
import { t } from './i18n';
import { findActiveTab } from './active-tab';
import {
  pageReadSchema,
  parseRuntimeResponse,
  questionPreviewSchema,
  type PageRead,
  usageRefreshedSchema,
  type QuestionPreview,
  type RuntimeRequestInput,
} from './runtime-messages';
import type { UsageSnapshot } from './usage-snapshot';

/** Opens the chat port to the background worker, starting it if it sleeps. */
export function connectChatPort(): ChatPort {
  return browser.runtime.connect({ name: CHAT_PORT_NAME });
}

function sendRequest(request: RuntimeRequestInput): Promise<unknown> {
  return browser.runtime.sendMessage(request);
}

/**
 * Asks the background for a draft question's route and token estimate,
 * with the attached page and the tier it will be sent with, if any.
 */
export async function requestQuestionPreview(
  question: string,
  history: ChatMessage[],
  options: { pageContext?: PageContext; tier?: RequestedTier } = {},
): Promise<QuestionPreview> {
  const response = await sendRequest({
    type: 'preview-question',
    question,
    history,
    pageContext: options.pageContext,
    tier: options.tier,
  });
  return parseRuntimeResponse(questionPreviewSchema, response);
}

/** Asks the background to fetch the usage from the backend into the mirror. */
export async function requestUsageRefresh(): Promise<UsageSnapshot> {
  const response = await sendRequest({ type: 'refresh-usage' });
  return parseRuntimeResponse(usageRefreshedSchema, response).snapshot;
}

/**
 * Reads the active tab for "Ask about this page" through the background,
 * which injects the reader with `scripting` under the activeTab grant.
 * Resolves with `page-read-failed` and a sentence when the tab is not a
 * web page, has no text, or has not been granted yet. activeTab is granted
 * by a click on the toolbar button that opens the popup (checked in
 * Chromium 156) and, per Chrome's activeTab documentation, by a keyboard
 * command or a context-menu click. A click in the side panel grants
 * nothing (checked in Chromium 156), so the sentence names those gestures.
 * No permission is requested here.
 */
export async function requestActivePage(): Promise<PageRead> {
  const tab = await findActiveTab();
  if (!tab) {
    return {
      type: 'page-read-failed',
      message: t('pageNotWebPage'),
    };
  }
  const response = await sendRequest({ type: 'read-page', tabId: tab.id });
  return parseRuntimeResponse(pageReadSchema, response);
}
