/**
 * Keys of the server answer cache. A key covers the scope (one install, or
 * the shared scope), the normalized question, the conversation before it,
 * the page context, the tier, the model and the system prompt version, so
 * an entry is only ever served for the same question in the same context.
 */
import { createHash } from 'node:crypto';
import { normalizeQuestion } from '../../lib/extension/normalize-question';
import type { ChatMessage, PageContext, Tier } from '../../lib/protocol';
import { SYSTEM_PROMPT_VERSION } from '../prompt';

/** Version of the key layout; bump it when the fields change. */
const KEY_FORMAT_VERSION = 'server-answer-key-v1';

/** The scope shared by all installs, for context-free questions only. */
export const SHARED_SCOPE = 'shared';

export interface ServerCacheKeyInput {
  /** `install:<id>` or SHARED_SCOPE. */
  scope: string;
  question: string;
  history: readonly ChatMessage[];
  pageContext?: PageContext;
  tier: Tier;
  /** The tier's configured model, as the route event names it. */
  model: string;
}

export interface CacheScopeInput {
  installId: string;
  history: readonly ChatMessage[];
  pageContext?: PageContext;
  /** Whether the developer turned on the shared scope. */
  sharedCache: boolean;
}

/**
 * Chooses the cache scope of a request: the shared scope when it is on and
 * the question comes with no history and no page context, otherwise the
 * install's private scope.
 */
export function chooseCacheScope(input: CacheScopeInput): string {
  const contextFree =
    input.history.length === 0 && input.pageContext === undefined;
  return input.sharedCache && contextFree
    ? SHARED_SCOPE
    : `install:${input.installId}`;
}

/**
 * Builds the key: the SHA-256 hex of every field that shapes the answer,
 * serialized as a JSON array so no two inputs share a serialization.
 */
export function buildServerCacheKey(input: ServerCacheKeyInput): string {
  const fields = [
    KEY_FORMAT_VERSION,
    SYSTEM_PROMPT_VERSION,
    input.scope,
    normalizeQuestion(input.question),
    hashJson(input.history.map((message) => [message.role, message.content])),
    input.pageContext
      ? hashJson([
          input.pageContext.title,
          input.pageContext.url,
          input.pageContext.text,
        ])
      : 'none',
    input.tier,
    input.model,
  ];
  // NOTE: the tier's context budget is not a field, so answers cached
  // before a budget change are still served after it.
  return hashJson(fields);
}

function hashJson(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex');
}
