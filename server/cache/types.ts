/**
 * Types of the server answer cache: what an entry holds and the storage
 * interface that SQLite and Redis implement.
 */
import type { Tier } from '../../lib/protocol';
import type { UsageCounts } from '../store/types';

/** One complete answer, as cached and replayed. */
export interface CachedAnswer {
  text: string;
  /** Always "stop": only complete answers are cached. */
  finishReason: string;
  tier: Tier;
  /** `provider:model` of the call that answered, fallback included. */
  model: string;
  /** The provider usage of the answer, which a hit saves. */
  usage: UsageCounts;
  /** When the answer was cached, milliseconds since the epoch. */
  createdAt: number;
}

/** Storage of cached answers by key, with expiry. */
export interface AnswerCacheStorage {
  /** Returns the entry under `key`, or undefined when it is missing or expired. */
  get(key: string, nowMs: number): Promise<CachedAnswer | undefined>;
  /**
   * Stores an entry under `key` until `ttlSeconds` from `nowMs`. With
   * `installId`, the entry is listed under the install whose request
   * created it, so deleteByInstall finds it (shared-scope entries too).
   */
  set(
    key: string,
    answer: CachedAnswer,
    ttlSeconds: number,
    nowMs: number,
    installId?: string,
  ): Promise<void>;
  /**
   * Deletes every entry that a request of the install created, in its own
   * scope and in the shared one. Returns how many entries it deleted.
   */
  deleteByInstall(installId: string): Promise<number>;
  close(): Promise<void>;
}
