/**
 * Answer cache keys. A key covers everything that shapes an answer: the
 * install, the normalized question, the conversation before it, the page
 * context, the tier, the model and the system prompt version, so an entry
 * is only ever served for the same question in the same context.
 */
import type { ChatMessage, PageContext, Tier } from '../protocol';
import { SYSTEM_PROMPT_VERSION } from '../system-prompt';
import { sha256Hex } from './hash';
import { normalizeQuestion } from './normalize-question';

/**
 * Version of the backend's system prompt and prompt layout that cached
 * answers were written under; the backend sends the same lib/system-prompt.ts,
 * so answers written under an older prompt stop matching.
 */
export { SYSTEM_PROMPT_VERSION };

/** Version of the key layout itself; bump it when the fields change. */
const KEY_FORMAT_VERSION = 'answer-key-v1';

export interface CacheKeyInput {
  installId: string;
  question: string;
  /** The turns before the question, exactly as sent to the backend. */
  history: readonly ChatMessage[];
  pageContext?: PageContext;
  tier: Tier;
  /** The model that answers, as the route event names it, when known. */
  model?: string;
}

/** Returns the hash of a conversation's turns, roles included. */
export async function hashConversation(
  history: readonly ChatMessage[],
): Promise<string> {
  const turns = history.map((message) => [message.role, message.content]);
  return sha256Hex(JSON.stringify(turns));
}

/** Returns the hash of a page context, or "none" when there is none. */
export async function hashPageContext(
  pageContext: PageContext | undefined,
): Promise<string> {
  if (!pageContext) {
    return 'none';
  }
  return sha256Hex(
    JSON.stringify([pageContext.title, pageContext.url, pageContext.text]),
  );
}

/**
 * Builds the cache key of a question in its context: the SHA-256 hex of
 * every field that shapes the answer, serialized as a JSON array so no two
 * different inputs can produce the same serialization.
 */
export async function buildCacheKey(input: CacheKeyInput): Promise<string> {
  const fields = [
    KEY_FORMAT_VERSION,
    SYSTEM_PROMPT_VERSION,
    input.installId,
    normalizeQuestion(input.question),
    await hashConversation(input.history),
    await hashPageContext(input.pageContext),
    input.tier,
    input.model ?? '',
  ];
  return sha256Hex(JSON.stringify(fields));
}

/**
 * Lists the histories under which a question may already be cached in this
 * conversation: the full history first, then the history before each
 * earlier time the same question was asked in it, latest first. Serving
 * one of those repeats the answer this conversation already received.
 */
export function listLookupHistories(
  question: string,
  history: readonly ChatMessage[],
): ChatMessage[][] {
  const normalized = normalizeQuestion(question);
  const histories: ChatMessage[][] = [[...history]];

  for (let index = history.length - 1; index >= 0; index--) {
    const message = history[index] as ChatMessage;
    if (
      message.role === 'user' &&
      normalizeQuestion(message.content) === normalized
    ) {
      histories.push(history.slice(0, index));
    }
  }
  return histories;
}
