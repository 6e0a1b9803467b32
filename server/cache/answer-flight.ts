/**
 * One provider call that identical requests in flight share (single
 * flight). The request that started it (the leader) feeds it deltas and
 * its end. The others (followers) receive the deltas so far at once, then
 * the rest as they arrive.
 *
 * TODO: the provider call belongs to the leader, so a leader whose client
 * leaves aborts it and its followers receive an error event.
 */
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
  /** The call failed, was cut short or was never made. */
  | { kind: 'failed' };

export interface FlightListener {
  onDelta(text: string): void;
  onEnd(end: FlightEnd): void;
}

export class AnswerFlight {
  readonly key: string;
  private readonly deltas: string[] = [];
  private readonly listeners = new Set<FlightListener>();
  private end: FlightEnd | undefined;
  private readonly onSettled: () => void;

  /** `onSettled` runs once, when the flight ends. */
  constructor(key: string, onSettled: () => void) {
    this.key = key;
    this.onSettled = onSettled;
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
    this.onSettled();
    for (const listener of this.listeners) {
      listener.onEnd(end);
    }
    this.listeners.clear();
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
    return () => this.listeners.delete(listener);
  }
}
