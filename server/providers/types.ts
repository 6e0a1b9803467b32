/**
 * The contract every provider adapter implements: stream one chat
 * completion as text deltas, usage reports and a finish event.
 */
import type { ProviderName } from '../../lib/catalog';
import type { ChatMessage } from '../../lib/protocol';

export interface ProviderCallOptions {
  /** The provider's own model id, without the `provider:` prefix. */
  model: string;
  /** The system prompt; adapters send it first so prompt caches hit. */
  system: string;
  /** Earlier turns, then the question as the last user message. */
  messages: ChatMessage[];
  /** Output cap sent to the provider, in tokens. */
  maxOutputTokens: number;
  /** Aborts the HTTP call and ends the stream. */
  signal: AbortSignal;
  /**
   * Called by the adapter when the response headers arrive, so the timeout
   * layer ends its connect timeout there.
   */
  onResponseStart?: () => void;
}

/** Token usage as the provider reported it. */
export interface ProviderUsage {
  /** All input tokens, cached ones included. */
  inputTokens: number;
  /** Input tokens read from the provider's prompt cache. */
  cachedInputTokens: number;
  /** Output tokens, reasoning tokens included. */
  outputTokens: number;
}

export type ProviderEvent =
  | { type: 'text-delta'; text: string }
  /** A complete usage report; when several arrive, the last one wins. */
  | { type: 'usage'; usage: ProviderUsage }
  | { type: 'finish'; reason: string };

export interface ProviderAdapter {
  readonly provider: ProviderName;
  /**
   * Streams one completion. Throws ProviderError for an HTTP failure before
   * the first event and for a stream that breaks or ends unfinished.
   */
  streamChat(options: ProviderCallOptions): AsyncIterable<ProviderEvent>;
}

export interface ProviderErrorOptions {
  provider: ProviderName;
  message: string;
  /** HTTP status of the provider's response, when there was one. */
  status?: number;
  /** Seconds the provider asked to wait, from `Retry-After`. */
  retryAfterSeconds?: number;
  /** Whether repeating the same call may succeed (429, 5xx, network). */
  retryable: boolean;
  /** Whether the failure was a timeout rather than an error answer. */
  timedOut?: boolean;
  cause?: unknown;
}

/** A failed provider call, with the facts a retry layer needs. */
export class ProviderError extends Error {
  readonly provider: ProviderName;
  readonly status: number | undefined;
  readonly retryAfterSeconds: number | undefined;
  readonly retryable: boolean;
  readonly timedOut: boolean;

  constructor(options: ProviderErrorOptions) {
    super(options.message, { cause: options.cause });
    this.name = 'ProviderError';
    this.provider = options.provider;
    this.status = options.status;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.retryable = options.retryable;
    this.timedOut = options.timedOut ?? false;
  }
}

/** Type guard for ProviderError, safe across module copies. */
export function isProviderError(error: unknown): error is ProviderError {
  return error instanceof Error && error.name === 'ProviderError';
}
