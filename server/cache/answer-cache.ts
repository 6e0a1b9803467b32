/**
 * The server answer cache: complete answers kept per install (or in the
 * shared scope for context-free questions, when turned on), and the single
 * flight that makes identical requests in flight call the provider once.
 *
 * A lookup is one of: a hit (replay the stored answer), a follower (stream
 * the answer another request is fetching right now) or a leader (call the
 * provider, then store the answer when it completes with finish reason
 * "stop").
 */
import type { Logger } from '../logger';
import { AnswerFlight } from './answer-flight';
import type { AnswerCacheStorage, CachedAnswer } from './types';

export type CacheLookup =
  /** The flight has already ended with the stored answer, as one delta. */
  | { kind: 'hit'; key: string; answer: CachedAnswer; flight: AnswerFlight }
  | { kind: 'follower'; key: string; flight: AnswerFlight }
  | { kind: 'leader'; key: string; flight: AnswerFlight };

export interface AnswerCacheOptions {
  storage: AnswerCacheStorage;
  /** Entry lifetime, in seconds. */
  ttlSeconds: number;
  /** Whether the shared scope is on. */
  sharedCache: boolean;
  logger: Logger;
  /** Name of the storage behind the cache, for the logs: sqlite or redis. */
  storageKind: string;
}

/**
 * Deleted installs that a process remembers, so that an answer still
 * streaming for one is not cached after the deletion; the oldest goes
 * first. Only installs deleted while one of their answers still streams
 * matter, so the most recent deletions suffice.
 */
const MAX_DELETED_INSTALLS = 10_000;

export class ServerAnswerCache {
  readonly ttlSeconds: number;
  readonly sharedCache: boolean;
  readonly storageKind: string;
  private readonly storage: AnswerCacheStorage;
  private readonly logger: Logger;
  private readonly flights = new Map<string, AnswerFlight>();
  /** Installs deleted by this process, whose answers in flight are not stored. */
  private readonly deletedInstalls = new Set<string>();
  private closed: Promise<void> | undefined;

  constructor(options: AnswerCacheOptions) {
    this.storage = options.storage;
    this.ttlSeconds = options.ttlSeconds;
    this.sharedCache = options.sharedCache;
    this.logger = options.logger;
    this.storageKind = options.storageKind;
  }

  /**
   * Looks `key` up. A request that finds no flight starts one at once,
   * before the storage is read, so a request arriving meanwhile follows
   * it. A leader must end its flight (AnswerFlight.finish) in every case.
   * A storage that fails is logged and read as a miss. `installId` names
   * the install asking, so the answer a leader stores is listed under it
   * for deleteInstallEntries.
   */
  async lookup(
    key: string,
    nowMs: number,
    installId?: string,
  ): Promise<CacheLookup> {
    const inFlight = this.flights.get(key);
    if (inFlight) {
      return { kind: 'follower', key, flight: inFlight };
    }
    const flight = new AnswerFlight(
      key,
      () => {
        if (this.flights.get(key) === flight) {
          this.flights.delete(key);
        }
      },
      installId,
    );
    this.flights.set(key, flight);

    let answer: CachedAnswer | undefined;
    try {
      answer = await this.storage.get(key, nowMs);
    } catch (error) {
      this.logger.warn(
        { err: error, storage: this.storageKind },
        'answer cache read failed; answering without the cache',
      );
    }
    if (answer) {
      flight.addDelta(answer.text);
      flight.finish({
        kind: 'finished',
        finishReason: answer.finishReason,
        model: answer.model,
        usage: answer.usage,
      });
      return { kind: 'hit', key, answer, flight };
    }
    return { kind: 'leader', key, flight };
  }

  /**
   * Stores a complete answer, listed under the install that started the
   * key's flight, unless this process deleted that install's entries. A
   * storage failure is logged, not thrown.
   */
  async store(key: string, answer: CachedAnswer): Promise<void> {
    const installId = this.flights.get(key)?.installId;
    if (installId !== undefined && this.deletedInstalls.has(installId)) {
      return;
    }
    try {
      await this.storage.set(
        key,
        answer,
        this.ttlSeconds,
        answer.createdAt,
        installId,
      );
    } catch (error) {
      this.logger.warn(
        { err: error, storage: this.storageKind },
        'answer cache write failed; the answer is not cached',
      );
    }
  }

  /**
   * Deletes every entry that the install's requests stored, in its own
   * scope and in the shared one, and returns how many. Unlike lookups and
   * stores, a storage failure is thrown, because the user asked for the
   * deletion and must learn that it did not happen.
   */
  deleteInstallEntries(installId: string): Promise<number> {
    this.deletedInstalls.add(installId);
    if (this.deletedInstalls.size > MAX_DELETED_INSTALLS) {
      const oldest = this.deletedInstalls.values().next().value;
      if (oldest !== undefined) {
        this.deletedInstalls.delete(oldest);
      }
    }
    return this.storage.deleteByInstall(installId);
  }

  /** Number of shared calls in flight. */
  get flightCount(): number {
    return this.flights.size;
  }

  /** Closes the storage; later calls return the first call's promise. */
  close(): Promise<void> {
    this.closed ??= this.storage.close();
    return this.closed;
  }
}
