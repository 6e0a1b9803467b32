/**
 * Token counting with the o200k_base encoding (GPT-4o and later OpenAI
 * models). For other providers the counts are estimates; the provider's
 * reported usage settles the bill.
 */
import { countTokens as countEncodedTokens } from 'gpt-tokenizer/encoding/o200k_base';
import type { ChatMessage } from './protocol';

/** Tokens a chat format adds around each message (role and separators). */
export const MESSAGE_OVERHEAD_TOKENS = 4;

/** Tokens a chat format adds to prime the answer. */
export const REPLY_PRIMER_TOKENS = 3;

// An empty disallowed set makes special-token strings such as <|endoftext|>
// count as ordinary text instead of throwing.
const PLAIN_TEXT = { disallowedSpecial: new Set<string>() };

/** Counts the tokens of a text; special-token strings count as text. */
export function countTokens(text: string): number {
  if (text === '') {
    return 0;
  }
  return countEncodedTokens(text, PLAIN_TEXT);
}

/**
 * Counts the input tokens of a chat: every message's content plus the
 * per-message overhead and the reply primer.
 */
export function countChatTokens(
  messages: ReadonlyArray<Pick<ChatMessage, 'content'> & { role: string }>,
): number {
  let total = REPLY_PRIMER_TOKENS;
  for (const message of messages) {
    total += MESSAGE_OVERHEAD_TOKENS + countTokens(message.content);
  }
  return total;
}
