/** Turns a stored conversation into the history sent with a question. */
import { REQUEST_LIMITS, type ChatMessage } from '../protocol';
import type { MessageRecord } from './database';

/**
 * Builds the request history from a conversation's messages, oldest first:
 * each question with the answer shown under it. A question whose answer
 * has no text (it failed before the first token) is left out with it, so
 * user and assistant turns alternate. Keeps the latest turns that fit the
 * protocol's limits, cutting over-long texts at the character limit.
 */
export function buildRequestHistory(
  messages: readonly MessageRecord[],
): ChatMessage[] {
  const history: ChatMessage[] = [];
  const ordered = [...messages].sort((a, b) => a.position - b.position);

  for (let index = 0; index < ordered.length - 1; index++) {
    const question = ordered[index] as MessageRecord;
    const answer = ordered[index + 1] as MessageRecord;
    if (
      question.role !== 'user' ||
      answer.role !== 'assistant' ||
      answer.text === ''
    ) {
      continue;
    }
    history.push(
      { role: 'user', content: clip(question.text) },
      { role: 'assistant', content: clip(answer.text) },
    );
    index++;
  }

  const maxMessages =
    REQUEST_LIMITS.historyMessages - (REQUEST_LIMITS.historyMessages % 2);
  return history.slice(Math.max(0, history.length - maxMessages));
}

function clip(text: string): string {
  return text.length > REQUEST_LIMITS.messageChars
    ? text.slice(0, REQUEST_LIMITS.messageChars)
    : text;
}
