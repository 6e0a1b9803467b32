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

/**
 * Longest run of whitespace or of other characters that is encoded in one
 * piece. gpt-tokenizer 4.0.0 takes time quadratic in a piece's length: on
 * the development machine one run of 16,000 CJK characters took 6.6 s and
 * 400,000 repeated letters did not finish in two minutes, while 400,000
 * characters cut every 400 count in under 0.3 s.
 */
export const MAX_RUN_CHARS = 400;

/**
 * Counts the tokens of a text; special-token strings count as text. A run
 * longer than MAX_RUN_CHARS is counted in pieces of that length, which can
 * add about one token per cut to the exact count.
 */
export function countTokens(text: string): number {
  if (text === '') {
    return 0;
  }

  let total = 0;
  let segmentStart = 0;
  let runStart = 0;
  let runIsWhitespace = isWhitespace(text.charCodeAt(0));
  for (let index = 1; index < text.length; index++) {
    const code = text.charCodeAt(index);
    const whitespace = isWhitespace(code);
    if (whitespace !== runIsWhitespace) {
      runStart = index;
      runIsWhitespace = whitespace;
    } else if (
      index - runStart >= MAX_RUN_CHARS &&
      !isSurrogatePair(text.charCodeAt(index - 1), code)
    ) {
      // Cutting inside a surrogate pair would split a character in two.
      total += countEncodedTokens(text.slice(segmentStart, index), PLAIN_TEXT);
      segmentStart = index;
      runStart = index;
    }
  }
  return total + countEncodedTokens(text.slice(segmentStart), PLAIN_TEXT);
}

function isWhitespace(code: number): boolean {
  if (code < 128) {
    return code === 32 || (code >= 9 && code <= 13);
  }
  return WHITESPACE.test(String.fromCharCode(code));
}

function isSurrogatePair(first: number, second: number): boolean {
  return (
    first >= 0xd800 && first <= 0xdbff && second >= 0xdc00 && second <= 0xdfff
  );
}

const WHITESPACE = /\s/;

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
