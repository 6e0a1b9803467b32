/**
 * The extension pages' side of the background: the chat port and the
 * one-off requests, with every response parsed before use.
 */
import { browser } from 'wxt/browser';
import type { ChatMessage } from '../protocol';
import type { ChatPort } from './chat-port';
import { CHAT_PORT_NAME } from './port-messages';
import { t } from './i18n';
import { findActiveWebTab, originPattern } from './active-tab';
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

/** Asks the background for a draft question's route and token estimate. */
export async function requestQuestionPreview(
  question: string,
  history: ChatMessage[],
): Promise<QuestionPreview> {
  const response = await sendRequest({
    type: 'preview-question',
    question,
    history,
  });
  return parseRuntimeResponse(questionPreviewSchema, response);
}

/** Asks the background to fetch the usage from the backend into the mirror. */
export async function requestUsageRefresh(): Promise<UsageSnapshot> {
  const response = await sendRequest({ type: 'refresh-usage' });
  return parseRuntimeResponse(usageRefreshedSchema, response).snapshot;
}

/**
 * Reads the active tab for "Ask about this page". Asks for the tab's host
 * permission first, so call it from a click: browsers accept a permission
 * request only during a user gesture. Resolves with `page-read-failed` and
 * a sentence when there is no web page, the user declines or the page has
 * no text.
 */
export async function requestActivePage(): Promise<PageRead> {
  const tab = await findActiveWebTab();
  if (!tab) {
    return {
      type: 'page-read-failed',
      message: t('pageNotWebPage'),
    };
  }
  const origins = [originPattern(tab.url)];
  // NOTE: Firefox accepts permissions.request only in the synchronous part
  // of a click handler, so after these awaits it may reject the request.
  const granted =
    (await browser.permissions.contains({ origins })) ||
    (await browser.permissions.request({ origins }));
  if (!granted) {
    return {
      type: 'page-read-failed',
      message: t('pagePermissionNeeded', new URL(tab.url).host),
    };
  }
  const response = await sendRequest({ type: 'read-page', tabId: tab.id });
  return parseRuntimeResponse(pageReadSchema, response);
}
