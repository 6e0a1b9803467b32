/**
 * A provider adapter for the Anthropic Messages API, streamed. The system
 * prompt goes first as a system block marked with `cache_control`, so
 * Anthropic's prompt cache serves the stable prefix of every request.
 */
import { readSseStream } from '../../lib/sse';
import {
  isRecord,
  isRetryableStatus,
  joinUrl,
  parseJsonOrUndefined,
  parseRetryAfter,
  postForStream,
  readBodyText,
  toStreamError,
  toTokenCount,
  truncateDetail,
} from './provider-http';
import { notifyResponseStart } from './timeouts';
import {
  ProviderError,
  type ProviderAdapter,
  type ProviderCallOptions,
  type ProviderEvent,
  type ProviderUsage,
} from './types';

/** The API version this adapter speaks, sent as `anthropic-version`. */
export const ANTHROPIC_VERSION = '2023-06-01';

export interface AnthropicAdapterOptions {
  apiKey: string;
  /**
   * Base URL, e.g. https://api.anthropic.com. A trailing `/v1` is accepted,
   * so the value configured for Anthropic's OpenAI-compatible endpoint works too.
   */
  baseUrl: string;
}

/** Error types Anthropic sends for failures that a later attempt may not hit. */
const RETRYABLE_ERROR_TYPES = new Set([
  'overloaded_error',
  'api_error',
  'rate_limit_error',
  'timeout_error',
]);

/**
 * Creates an adapter that streams answers from the Messages API and reads
 * its usage: input is the sum of uncached, cache-read and cache-write
 * tokens, and cached input is the cache reads.
 */
export function createAnthropicAdapter(
  options: AnthropicAdapterOptions,
): ProviderAdapter {
  const url = joinUrl(options.baseUrl.replace(/\/v1\/?$/, ''), '/v1/messages');

  return {
    provider: 'anthropic',
    streamChat: (call) => streamMessages(url, options.apiKey, call),
  };
}

/** Builds the Messages API request body for one call. */
export function buildAnthropicRequest(call: ProviderCallOptions): unknown {
  return {
    model: call.model,
    max_tokens: call.maxOutputTokens,
    stream: true,
    system: [
      {
        type: 'text',
        text: call.system,
        cache_control: { type: 'ephemeral' },
      },
    ],
    // The API rejects messages with empty content, so an empty earlier turn
    // (an answer that was cancelled before its first token) is left out.
    messages: call.messages
      .filter((message) => message.content !== '')
      .map((message) => ({ role: message.role, content: message.content })),
  };
}

async function* streamMessages(
  url: string,
  apiKey: string,
  call: ProviderCallOptions,
): AsyncGenerator<ProviderEvent> {
  const response = await postForStream({
    provider: 'anthropic',
    url,
    headers: { 'x-api-key': apiKey, 'anthropic-version': ANTHROPIC_VERSION },
    body: buildAnthropicRequest(call),
    signal: call.signal,
  });
  notifyResponseStart(call);

  if (!response.ok) {
    throw await readHttpError(response);
  }
  if (!response.body) {
    throw new ProviderError({
      provider: 'anthropic',
      message: `anthropic returned HTTP ${response.status} with an empty body instead of an event stream.`,
      status: response.status,
      retryable: true,
    });
  }

  const state: StreamState = { usage: undefined, stopReason: undefined };
  let finished = false;
  const body = response.body;
  try {
    for await (const message of readSseStream(body)) {
      const event = parseEvent(message.data);
      yield* readEvent(event, state);
      if (event.type === 'message_stop') {
        finished = true;
        break;
      }
    }
  } catch (error) {
    throw toStreamError('anthropic', error, call.signal);
  } finally {
    // Frees the connection when the loop left before the body ended.
    await body.cancel().catch(() => undefined);
  }

  if (!finished && state.stopReason === undefined) {
    throw new ProviderError({
      provider: 'anthropic',
      message:
        'The anthropic stream ended without message_stop, so the answer may be cut short.',
      retryable: true,
    });
  }
  yield { type: 'finish', reason: normalizeStopReason(state.stopReason) };
}

interface StreamState {
  usage: AnthropicUsage | undefined;
  stopReason: string | undefined;
}

interface AnthropicUsage {
  input_tokens?: number;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  output_tokens?: number;
}

interface AnthropicEvent {
  type?: string;
  message?: { usage?: AnthropicUsage };
  delta?: { type?: string; text?: string; stop_reason?: string | null };
  usage?: AnthropicUsage;
  error?: { type?: string; message?: string };
}

function* readEvent(
  event: AnthropicEvent,
  state: StreamState,
): Generator<ProviderEvent> {
  switch (event.type) {
    case 'message_start':
      state.usage = { ...event.message?.usage };
      return;
    case 'content_block_delta':
      // Thinking, signature and tool-input deltas are not shown to the user.
      if (event.delta?.type === 'text_delta' && event.delta.text) {
        yield { type: 'text-delta', text: event.delta.text };
      }
      return;
    case 'message_delta':
      if (event.delta?.stop_reason) {
        state.stopReason = event.delta.stop_reason;
      }
      // message_delta counts are cumulative for the whole message, so they
      // replace the message_start figures instead of adding to them.
      state.usage = { ...state.usage, ...definedFields(event.usage) };
      yield { type: 'usage', usage: toProviderUsage(state.usage) };
      return;
    case 'error':
      throw createStreamError(event.error);
    default:
      // ping, content_block_start, content_block_stop and event types
      // added after this adapter was written carry nothing to forward.
      return;
  }
}

function parseEvent(data: string): AnthropicEvent {
  const parsed = parseJsonOrUndefined(data);
  if (!isRecord(parsed)) {
    throw new ProviderError({
      provider: 'anthropic',
      message: `anthropic sent an event that is not a JSON object: ${truncateDetail(data)}`,
      retryable: true,
    });
  }
  return parsed as AnthropicEvent;
}

function definedFields(usage: AnthropicUsage | undefined): AnthropicUsage {
  const result: Record<string, number> = {};
  for (const [key, value] of Object.entries(usage ?? {})) {
    if (typeof value === 'number') {
      result[key] = value;
    }
  }
  return result;
}

/**
 * Converts Anthropic usage to ProviderUsage. `input_tokens` counts only the
 * tokens after the last cache breakpoint, so all input is the sum of it,
 * the cache reads and the cache writes.
 */
// NOTE: Anthropic bills cache writes above the input price, but the catalog
// has no cache-write price, so they are priced as plain input.
function toProviderUsage(usage: AnthropicUsage): ProviderUsage {
  const uncached = toTokenCount(usage.input_tokens);
  const cacheRead = toTokenCount(usage.cache_read_input_tokens);
  const cacheWrite = toTokenCount(usage.cache_creation_input_tokens);
  return {
    inputTokens: uncached + cacheRead + cacheWrite,
    cachedInputTokens: cacheRead,
    outputTokens: toTokenCount(usage.output_tokens),
  };
}

/** Maps Anthropic stop reasons to the OpenAI names the other adapters use. */
function normalizeStopReason(reason: string | undefined): string {
  switch (reason) {
    case undefined:
    case 'end_turn':
    case 'stop_sequence':
      return 'stop';
    case 'max_tokens':
      return 'length';
    case 'refusal':
      return 'content_filter';
    default:
      return reason;
  }
}

function createStreamError(error: AnthropicEvent['error']): ProviderError {
  const type = error?.type ?? 'unknown_error';
  return new ProviderError({
    provider: 'anthropic',
    message: `anthropic reported ${type} in the stream: ${truncateDetail(error?.message ?? 'no message')}`,
    retryable: RETRYABLE_ERROR_TYPES.has(type),
  });
}

async function readHttpError(response: Response): Promise<ProviderError> {
  const status = response.status;
  const text = await readBodyText(response);
  const parsed = parseJsonOrUndefined(text);
  const error =
    isRecord(parsed) && isRecord(parsed.error) ? parsed.error : undefined;
  const type = typeof error?.type === 'string' ? error.type : undefined;
  const detail =
    typeof error?.message === 'string' ? error.message : text.trim();
  const requestId = response.headers.get('request-id');

  // Anthropic's x-should-retry header, when present, overrides the status.
  const shouldRetry = response.headers.get('x-should-retry');
  const retryable =
    shouldRetry === 'true' ||
    (shouldRetry !== 'false' && isRetryableStatus(status));

  return new ProviderError({
    provider: 'anthropic',
    message:
      `anthropic returned HTTP ${status}${type ? ` (${type})` : ''}` +
      `${detail ? `: ${truncateDetail(detail)}` : '.'}` +
      `${requestId ? ` Request id ${requestId}.` : ''}`,
    status,
    retryAfterSeconds: parseRetryAfter(response.headers.get('retry-after')),
    retryable,
  });
}
