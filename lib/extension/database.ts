/**
 * The extension's IndexedDB database (Dexie): the answer cache and the
 * conversations of the side panel. The service worker and the extension
 * pages share it, because they share the extension's origin.
 */
import { Dexie, type Table } from 'dexie';
import type {
  ContextReport,
  ErrorCode,
  PageContext,
  RequestedTier,
  Tier,
} from '../protocol';

/** Name of the IndexedDB database. */
export const DATABASE_NAME = 'tokenwise';

/** A complete answer in the cache, keyed by its cache key. */
export interface CachedAnswerRecord {
  key: string;
  installId: string;
  normalizedQuestion: string;
  tier: Tier;
  model: string;
  /** Router score and reasons of the original answer. */
  score: number;
  reasons: string[];
  text: string;
  finishReason: string;
  /** Token counts of the original answer, as the backend settled them. */
  inputTokens: number;
  outputTokens: number;
  /** Allowance tokens the original answer cost. */
  charged: number;
  /** Milliseconds since the epoch. */
  createdAt: number;
  lastUsedAt: number;
  hitCount: number;
  /** The question as first asked, shown when a similar question is offered it. */
  question: string;
  /**
   * True when the answer had no conversation before it and no page context,
   * so it may be offered for a similar question in any conversation.
   */
  contextFree: boolean;
  /** Approximate size of the entry in bytes, for the size cap. */
  bytes: number;
}

/** Running totals of the answer cache, in the `counters` table. */
export interface CacheCountersRecord {
  id: 'cache';
  /** Answers served from the cache. */
  hits: number;
  /** Allowance tokens the original answers of those hits cost. */
  tokensSaved: number;
  /** Sum of `bytes` over all entries. */
  bytes: number;
}

export interface ConversationRecord {
  id: string;
  title: string;
  /** Milliseconds since the epoch. */
  createdAt: number;
  updatedAt: number;
}

export const ANSWER_STATUSES = [
  'streaming',
  'done',
  'error',
  'stopped',
  'offered',
] as const;
export type AnswerStatus = (typeof ANSWER_STATUSES)[number];

/** Details the side panel shows under an answer. */
export interface AnswerDetails {
  tier: Tier;
  model: string;
  score: number;
  reasons: string[];
  fromCache: boolean;
  inputTokens?: number;
  outputTokens?: number;
  /** Allowance tokens taken; 0 for a cache hit. */
  charged?: number;
  /** True when the backend counted with the tokenizer, not the provider. */
  estimated?: boolean;
  /** What went with the question besides it, as the backend reported. */
  context?: ContextReport;
}

/** Error codes of the wire protocol plus failures the extension detects. */
export type AnswerErrorCode =
  | ErrorCode
  | 'backend_unreachable'
  | 'backend_timeout'
  | 'invalid_response'
  | 'stream_interrupted'
  | 'background_disconnected'
  | 'extension_failed';

export interface AnswerError {
  code: AnswerErrorCode;
  /** A sentence the user can act on. */
  message: string;
  /** ISO time the allowance resets, for `allowance_exhausted`. */
  resetAt?: string;
}

/** One question or answer in a conversation. */
export interface MessageRecord {
  id: string;
  conversationId: string;
  /** Order within the conversation, from 0. */
  position: number;
  role: 'user' | 'assistant';
  text: string;
  /** Milliseconds since the epoch. */
  createdAt: number;
  /** Answers only. */
  status?: AnswerStatus;
  /** The tier the question was sent with: `premium` when the user asked for it. */
  requestedTier?: RequestedTier;
  /** The page a question was about, with its estimated tokens; questions only. */
  page?: PageContext & { tokens: number };
  /** An earlier answer offered for a similar question; `offered` answers only. */
  offer?: { question: string; cacheKey: string; score: number };
  answer?: AnswerDetails;
  error?: AnswerError;
}

/** The Dexie database with its tables. */
export class TokenwiseDatabase extends Dexie {
  answers!: Table<CachedAnswerRecord, string>;
  conversations!: Table<ConversationRecord, string>;
  messages!: Table<MessageRecord, string>;
  counters!: Table<CacheCountersRecord, string>;

  constructor(name = DATABASE_NAME) {
    super(name);
    this.version(1).stores({
      answers: 'key, installId, createdAt, lastUsedAt',
      conversations: 'id, updatedAt',
      messages: 'id, conversationId, [conversationId+position]',
    });
    // Version 2 adds sizes for the LRU cap and the near-duplicate lookup.
    // Entries of version 1 lack the fields that lookup needs, so they go.
    this.version(2)
      .stores({
        answers: 'key, installId, createdAt, lastUsedAt',
        counters: 'id',
      })
      .upgrade(async (transaction) => {
        await transaction.table('answers').clear();
      });
  }
}

let sharedDatabase: TokenwiseDatabase | undefined;

/** Returns the database of this page or worker, opening it on first use. */
export function getDatabase(): TokenwiseDatabase {
  sharedDatabase ??= new TokenwiseDatabase();
  return sharedDatabase;
}
