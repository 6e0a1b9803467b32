/**
 * The local answer cache in IndexedDB. Only complete answers go in; a hit
 * is served without calling the backend and costs the user nothing.
 * Entries expire after a maximum age, and the least recently used ones are
 * evicted to keep the cache under a size cap.
 */
import type {
  CacheCountersRecord,
  CachedAnswerRecord,
  TokenwiseDatabase,
} from './database';
import { normalizeQuestion } from './normalize-question';
import {
  DEFAULT_CACHE_MAX_AGE_DAYS,
  DEFAULT_CACHE_MAX_BYTES,
} from './settings';

const DAY_MS = 24 * 60 * 60 * 1000;

/** Default age after which a cached answer is no longer served: 7 days. */
export const DEFAULT_CACHE_MAX_AGE_MS = DEFAULT_CACHE_MAX_AGE_DAYS * DAY_MS;

/** Default size cap of the cache in bytes: 50 MB. */
export { DEFAULT_CACHE_MAX_BYTES };

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
  /** True when the question had no history and no page context. */
  contextFree?: boolean;
}

export interface CacheLimits {
  /** Entries older than this many milliseconds are not served. */
  maxAgeMs: number;
  /** The least recently used entries are evicted above this many bytes. */
  maxBytes: number;
}

export interface AnswerCacheOptions extends Partial<CacheLimits> {
  /** Clock in milliseconds since the epoch; tests pass a fixed one. */
  now?: () => number;
}

/** Size, entry count and savings of the cache, for the options page. */
export interface CacheStats {
  entries: number;
  /** Approximate bytes of all entries. */
  bytes: number;
  hits: number;
  /** Allowance tokens the hits would have cost. */
  tokensSaved: number;
}

/** A cached answer to a question similar to the one asked. */
export interface SimilarAnswer {
  entry: CachedAnswerRecord;
  /** Similarity between 0 and 1. */
  score: number;
}

const COUNTERS_ID = 'cache';
const EMPTY_COUNTERS: CacheCountersRecord = {
  id: COUNTERS_ID,
  hits: 0,
  tokensSaved: 0,
  bytes: 0,
};

/** The answer cache over the `answers` and `counters` tables. */
export class AnswerCache {
  private readonly database: TokenwiseDatabase;
  private limits: CacheLimits;
  private readonly now: () => number;

  constructor(database: TokenwiseDatabase, options: AnswerCacheOptions = {}) {
    this.database = database;
    this.limits = {
      maxAgeMs: options.maxAgeMs ?? DEFAULT_CACHE_MAX_AGE_MS,
      maxBytes: options.maxBytes ?? DEFAULT_CACHE_MAX_BYTES,
    };
    this.now = options.now ?? Date.now;
  }

  /** Replaces the age and size limits; a smaller cap applies on the next store. */
  configure(limits: Partial<CacheLimits>): void {
    this.limits = { ...this.limits, ...limits };
  }

  /**
   * Looks the keys up in order and returns the first fresh entry, after
   * recording the hit and what it saved. Expired entries are deleted on
   * the way.
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
      if (this.isExpired(entry, now)) {
        await this.deleteEntries([entry]);
        continue;
      }
      return this.recordHit(entry);
    }
    return undefined;
  }

  /**
   * Returns the fresh context-free entry of an install whose question is
   * most similar to `question`, when `isSimilar` accepts it. Records no hit:
   * the user decides whether to use it (see `use`).
   */
  async findSimilar(options: {
    installId: string;
    question: string;
    score: (a: string, b: string) => number;
    isSimilar: (score: number) => boolean;
  }): Promise<SimilarAnswer | undefined> {
    const now = this.now();
    const candidates = await this.database.answers
      .where('installId')
      .equals(options.installId)
      .filter((entry) => entry.contextFree && !this.isExpired(entry, now))
      .toArray();

    let best: SimilarAnswer | undefined;
    for (const entry of candidates) {
      const score = options.score(options.question, entry.question);
      if (options.isSimilar(score) && (!best || score > best.score)) {
        best = { entry, score };
      }
    }
    return best;
  }

  /**
   * Serves the entry under `key` as a hit, as when the user takes an offered
   * answer. Returns undefined when it expired or was evicted since.
   */
  async use(key: string): Promise<CachedAnswerRecord | undefined> {
    return this.lookup([key]);
  }

  /**
   * Stores a finished answer, then evicts the least recently used entries
   * while the cache is above its size cap. Returns false and stores nothing
   * when the answer is empty, its finish reason says it was cut short, or
   * it alone is larger than the cap.
   */
  async store(answer: FinishedAnswer): Promise<boolean> {
    if (answer.text === '' || !isCompleteFinishReason(answer.finishReason)) {
      return false;
    }
    const now = this.now();
    const { contextFree, ...fields } = answer;
    const entry: CachedAnswerRecord = {
      ...fields,
      normalizedQuestion: normalizeQuestion(answer.question),
      contextFree: contextFree ?? false,
      createdAt: now,
      lastUsedAt: now,
      hitCount: 0,
      bytes: 0,
    };
    entry.bytes = estimateEntryBytes(entry);
    if (entry.bytes > this.limits.maxBytes) {
      return false;
    }

    const { answers, counters } = this.database;
    await this.database.transaction('rw', answers, counters, async () => {
      const previous = await answers.get(entry.key);
      await answers.put(entry);
      await this.addToCounters({
        bytes: entry.bytes - (previous?.bytes ?? 0),
      });
    });
    await this.evictOverCap();
    return true;
  }

  /** Returns the entry count, size, hits and tokens saved. */
  async stats(): Promise<CacheStats> {
    const counters = await this.readCounters();
    return {
      entries: await this.database.answers.count(),
      bytes: counters.bytes,
      hits: counters.hits,
      tokensSaved: counters.tokensSaved,
    };
  }

  /** Returns the number of cached answers. */
  async count(): Promise<number> {
    return this.database.answers.count();
  }

  /** Deletes every cached answer and resets the counters. */
  async clear(): Promise<void> {
    const { answers, counters } = this.database;
    await this.database.transaction('rw', answers, counters, async () => {
      await answers.clear();
      await counters.put(EMPTY_COUNTERS);
    });
  }

  private isExpired(entry: CachedAnswerRecord, now: number): boolean {
    return now - entry.createdAt > this.limits.maxAgeMs;
  }

  private async recordHit(
    entry: CachedAnswerRecord,
  ): Promise<CachedAnswerRecord> {
    const hit = {
      ...entry,
      lastUsedAt: this.now(),
      hitCount: entry.hitCount + 1,
    };
    const { answers, counters } = this.database;
    await this.database.transaction('rw', answers, counters, async () => {
      await answers.put(hit);
      await this.addToCounters({ hits: 1, tokensSaved: entry.charged });
    });
    return hit;
  }

  /** Deletes least recently used entries until the cache fits its cap. */
  private async evictOverCap(): Promise<void> {
    const counters = await this.readCounters();
    if (counters.bytes <= this.limits.maxBytes) {
      return;
    }
    const oldestFirst = this.database.answers.orderBy('lastUsedAt');
    const victims: CachedAnswerRecord[] = [];
    let bytes = counters.bytes;
    await oldestFirst
      .until(() => bytes <= this.limits.maxBytes)
      .each((entry) => {
        victims.push(entry);
        bytes -= entry.bytes;
      });
    await this.deleteEntries(victims);
  }

  private async deleteEntries(
    entries: readonly CachedAnswerRecord[],
  ): Promise<void> {
    if (entries.length === 0) {
      return;
    }
    const { answers, counters } = this.database;
    await this.database.transaction('rw', answers, counters, async () => {
      const stored = await answers.bulkGet(entries.map((entry) => entry.key));
      const freed = stored.reduce((sum, entry) => sum + (entry?.bytes ?? 0), 0);
      await answers.bulkDelete(entries.map((entry) => entry.key));
      await this.addToCounters({ bytes: -freed });
    });
  }

  private async readCounters(): Promise<CacheCountersRecord> {
    return (await this.database.counters.get(COUNTERS_ID)) ?? EMPTY_COUNTERS;
  }

  /** Adds to the counters; call inside a transaction on `counters`. */
  private async addToCounters(
    change: Partial<Omit<CacheCountersRecord, 'id'>>,
  ): Promise<void> {
    const counters = await this.readCounters();
    await this.database.counters.put({
      id: COUNTERS_ID,
      hits: counters.hits + (change.hits ?? 0),
      tokensSaved: counters.tokensSaved + (change.tokensSaved ?? 0),
      bytes: Math.max(0, counters.bytes + (change.bytes ?? 0)),
    });
  }
}

/**
 * Estimates an entry's size as the UTF-8 bytes of its JSON. IndexedDB's
 * own overhead per record is not counted, so the real size is somewhat
 * larger.
 */
export function estimateEntryBytes(entry: CachedAnswerRecord): number {
  return new TextEncoder().encode(JSON.stringify({ ...entry, bytes: 0 }))
    .length;
}
