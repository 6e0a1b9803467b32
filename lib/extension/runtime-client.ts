/**
 * The extension pages' side of the background: the chat port and the
 * one-off requests, with every response parsed before use.
 */
import { browser } from 'wxt/browser';
import type { ChatMessage } from '../protocol';
import type { ChatPort } from './chat-port';
import { CHAT_PORT_NAME } from './port-messages';
import {
  parseRuntimeResponse,
  questionPreviewSchema,
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
