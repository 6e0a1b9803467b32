/**
 * Where running summaries are kept, so each is written once per
 * conversation state: in the server answer cache's storage (SQLite beside
 * the ledger, or Redis) when the cache is on, which survives restarts and
 * is shared by backend instances, and otherwise in a bounded in-memory map.
 */
import type { ServerAnswerCache } from '../cache/answer-cache';
import type { AnswerFlight } from '../cache/answer-flight';
import type { UsageCounts } from '../store/types';

/** A summary as stored. */
export interface StoredSummary {
  text: string;
  /** `provider:model` that wrote it. */
  model: string;
  usage: UsageCounts;
}

/**
 * The result of claiming a key: the stored summary, or the duty to write
 * it. A claim that is missing must be released in every case, with the
 * summary when one was written.
 */
export type SummaryClaim =
  | { kind: 'found'; text: string }
  | {
      kind: 'missing';
      release(summary: StoredSummary | undefined): Promise<void>;
    };

export interface SummaryStore {
  /** Claims `key` for the install; see SummaryClaim. */
  claim(key: string, installId: string): Promise<SummaryClaim>;
}

/** Summaries the in-memory store keeps before it drops the oldest. */
export const MEMORY_SUMMARY_ENTRIES = 2_000;

/**
 * Creates the store over the answer cache when there is one, else in
 * memory. In the answer cache a summary is an entry of its own key prefix
 * listed under its install, so deleting the install deletes it too, and a
 * request that finds the same summary being written waits for it.
 */
export function createSummaryStore(options: {
  answerCache: ServerAnswerCache | undefined;
  now: () => Date;
}): SummaryStore {
  const cache = options.answerCache;
  return cache === undefined
    ? createMemorySummaryStore()
    : createCacheSummaryStore(cache, options.now);
}

function createCacheSummaryStore(
  cache: ServerAnswerCache,
  now: () => Date,
): SummaryStore {
  return {
    async claim(key, installId) {
      const lookup = await cache.lookup(key, now().getTime(), installId);
      if (lookup.kind === 'hit') {
        return { kind: 'found', text: lookup.answer.text };
      }
      if (lookup.kind === 'follower') {
        const text = await waitForFlight(lookup.flight);
        if (text !== undefined) {
          return { kind: 'found', text };
        }
        return {
          kind: 'missing',
          release: async (summary) => {
            if (summary) {
              await cache.store(key, toCachedAnswer(summary, now()));
            }
          },
        };
      }
      const flight = lookup.flight;
      return {
        kind: 'missing',
        release: async (summary) => {
          if (!summary) {
            flight.finish({ kind: 'failed' });
            return;
          }
          // Stored while the flight is open, so the entry is listed
          // under the install that started it.
          await cache.store(key, toCachedAnswer(summary, now()));
          flight.addDelta(summary.text);
          flight.finish({
            kind: 'finished',
            finishReason: 'stop',
            model: summary.model,
            usage: summary.usage,
          });
        },
      };
    },
  };
}

function toCachedAnswer(summary: StoredSummary, createdAt: Date) {
  return {
    text: summary.text,
    finishReason: 'stop',
    tier: 'cheap' as const,
    model: summary.model,
    usage: summary.usage,
    createdAt: createdAt.getTime(),
  };
}

/** Resolves with the flight's text when it finishes, undefined when it fails. */
function waitForFlight(flight: AnswerFlight): Promise<string | undefined> {
  return new Promise((resolve) => {
    let text = '';
    flight.follow({
      onDelta: (delta) => {
        text += delta;
      },
      onEnd: (end) => resolve(end.kind === 'finished' ? text : undefined),
    });
  });
}

/** Creates the in-memory store, which drops its oldest entry past MEMORY_SUMMARY_ENTRIES. */
export function createMemorySummaryStore(): SummaryStore {
  const entries = new Map<string, string>();
  return {
    claim(key) {
      const text = entries.get(key);
      if (text !== undefined) {
        // Re-inserted, so the map's order is least recently used first.
        entries.delete(key);
        entries.set(key, text);
        return Promise.resolve({ kind: 'found', text });
      }
      return Promise.resolve({
        kind: 'missing',
        release: (summary) => {
          if (summary) {
            entries.set(key, summary.text);
            while (entries.size > MEMORY_SUMMARY_ENTRIES) {
              const oldest = entries.keys().next().value as string;
              entries.delete(oldest);
            }
          }
          return Promise.resolve();
        },
      });
    },
  };
}
