/**
 * One provider call that identical requests in flight share (single
 * flight). The request that started it (the leader) feeds it deltas and
 * its end. The others (followers) receive the deltas so far at once, then
 * the rest as they arrive.
 *
 * A leader whose client leaves while followers listen keeps its provider
 * call going for them (see server/chat/stream-answer.ts), and stops it when
 * the last follower leaves too (onFollowersGone).
 */
import type { ErrorCode } from '../../lib/protocol';
import type { UsageCounts } from '../store/types';

/** How a shared call ended. */
export type FlightEnd =
  | {
      kind: 'finished';
      finishReason: string;
      /** `provider:model` of the call that answered. */
      model: string;
      usage: UsageCounts;
    }
  /**
   * The call failed, was cut short or was never made. `failure` is the
   * leader's error code and wait, when the provider call itself failed.
   */
  | {
      kind: 'failed';
      failure?: { code: ErrorCode; retryAfterSeconds?: number };
    };

export interface FlightListener {
  onDelta(text: string): void;
  onEnd(end: FlightEnd): void;
}

export class AnswerFlight {
  readonly key: string;
  /** The install whose request started the flight, when the caller named it. */
  readonly installId: string | undefined;
  private readonly deltas: string[] = [];
  private readonly listeners = new Set<FlightListener>();
  private readonly followersGoneCallbacks: Array<() => void> = [];
  private end: FlightEnd | undefined;
  private readonly onSettled: () => void;

  /** `onSettled` runs once, when the flight ends. */
  constructor(key: string, onSettled: () => void, installId?: string) {
    this.key = key;
    this.onSettled = onSettled;
    this.installId = installId;
  }

  /** Whether the flight has ended. */
  get ended(): boolean {
    return this.end !== undefined;
  }

  /** Number of followers listening. */
  get followerCount(): number {
    return this.listeners.size;
  }

  /** Passes one text delta of the leader's answer to every follower. */
  addDelta(text: string): void {
    if (this.end) {
      return;
    }
    this.deltas.push(text);
    for (const listener of this.listeners) {
      listener.onDelta(text);
    }
  }

  /** Ends the flight; later calls change nothing. */
  finish(end: FlightEnd): void {
    if (this.end) {
      return;
    }
    this.end = end;
    this.followersGoneCallbacks.length = 0;
    this.onSettled();
    for (const listener of this.listeners) {
      listener.onEnd(end);
    }
    this.listeners.clear();
  }

  /**
   * Runs `callback` once, when the last follower stops listening before
   * the flight ends: at once when none listens now, never once it ended.
   */
  onFollowersGone(callback: () => void): void {
    if (this.end) {
      return;
    }
    if (this.listeners.size === 0) {
      callback();
      return;
    }
    this.followersGoneCallbacks.push(callback);
  }

  /**
   * Adds a follower: replays the deltas so far (and the end, when the
   * flight has ended), then forwards the rest. Returns a function that
   * removes the follower.
   */
  follow(listener: FlightListener): () => void {
    for (const text of this.deltas) {
      listener.onDelta(text);
    }
    if (this.end) {
      listener.onEnd(this.end);
      return () => undefined;
    }
    this.listeners.add(listener);
    return () => {
      const removed = this.listeners.delete(listener);
      if (removed && this.listeners.size === 0 && !this.end) {
        const callbacks = this.followersGoneCallbacks.splice(0);
        for (const callback of callbacks) {
          callback();
        }
      }
    };
  }
}
