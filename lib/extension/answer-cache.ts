/**
 * The local answer cache in IndexedDB. Only complete answers go in; a hit
 * is served without calling the backend and costs the user nothing.
 */
import type { CachedAnswerRecord, TokenwiseDatabase } from './database';
import { normalizeQuestion } from './normalize-question';

/** Default age after which a cached answer is no longer served: 7 days. */
export const DEFAULT_CACHE_MAX_AGE_MS = 7 * 24 * 60 * 60 * 1000;

// Finish reasons that mean the model stopped before its answer was whole,
// in the spellings of OpenAI, Anthropic and Gemini.
const INCOMPLETE_FINISH_REASONS = new Set([
  'length',
  'max_tokens',
  'max_output_tokens',
  'content_filter',
  'safety',
  'recitation',
  'error',
  'aborted',
  'cancelled',
]);

/**
 * Returns whether a `done` event's finish reason means a whole answer. Answers cut
 * at the output cap or by a content filter are not cached.
 */
export function isCompleteFinishReason(finishReason: string): boolean {
  return !INCOMPLETE_FINISH_REASONS.has(finishReason.toLowerCase());
}

/** A finished answer offered to the cache, with the `done` event's reason. */
export interface FinishedAnswer {
  key: string;
  installId: string;
  question: string;
  tier: CachedAnswerRecord['tier'];
  model: string;
  score: number;
  reasons: string[];
  text: string;
  finishReason: string;
  inputTokens: number;
  outputTokens: number;
  charged: number;
}

export interface AnswerCacheOptions {
  /** Entries older than this many milliseconds are not served. */
  maxAgeMs?: number;
  /** Clock in milliseconds since the epoch; tests pass a fixed one. */
  now?: () => number;
}

/** The answer cache over the `answers` table. */
export class AnswerCache {
  private readonly database: TokenwiseDatabase;
  private readonly maxAgeMs: number;
  private readonly now: () => number;

  constructor(database: TokenwiseDatabase, options: AnswerCacheOptions = {}) {
    this.database = database;
    this.maxAgeMs = options.maxAgeMs ?? DEFAULT_CACHE_MAX_AGE_MS;
    this.now = options.now ?? Date.now;
  }

  /**
   * Looks the keys up in order and returns the first fresh entry, after
   * recording the hit. Expired entries are deleted on the way.
   */
  async lookup(
    keys: readonly string[],
  ): Promise<CachedAnswerRecord | undefined> {
    const now = this.now();
    const entries = await this.database.answers.bulkGet([...keys]);

    for (const entry of entries) {
      if (!entry) {
        continue;
      }
      if (now - entry.createdAt > this.maxAgeMs) {
        await this.database.answers.delete(entry.key);
        continue;
      }
      const hit = { ...entry, lastUsedAt: now, hitCount: entry.hitCount + 1 };
      await this.database.answers.put(hit);
      return hit;
    }
    return undefined;
  }

  /**
   * Stores a finished answer. Returns false and stores nothing when the
   * answer is empty or its finish reason says it was cut short.
   */
  async store(answer: FinishedAnswer): Promise<boolean> {
    if (answer.text === '' || !isCompleteFinishReason(answer.finishReason)) {
      return false;
    }
    const now = this.now();
    const { question, ...fields } = answer;
    await this.database.answers.put({
      ...fields,
      normalizedQuestion: normalizeQuestion(question),
      createdAt: now,
      lastUsedAt: now,
      hitCount: 0,
    });
    // TODO: evict least recently used entries above a size cap.
    return true;
  }

  /** Returns the number of cached answers. */
  async count(): Promise<number> {
    return this.database.answers.count();
  }

  /** Deletes every cached answer. */
  async clear(): Promise<void> {
    await this.database.answers.clear();
  }
}
