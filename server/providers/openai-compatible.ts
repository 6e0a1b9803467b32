/**
 * A provider adapter for the OpenAI chat completions API, streamed. It serves
 * OpenAI itself and every server that copies the API (Gemini's and
 * Anthropic's OpenAI-compatible endpoints, OpenRouter, Ollama), chosen by
 * base URL.
 */
import type { ProviderName } from '../../lib/catalog';
import { readSseStream } from '../../lib/sse';
import {
  describeError as describe,
  isRetryableStatus,
  parseRetryAfter,
  toTokenCount as toCount,
  truncateDetail as truncate,
} from './provider-http';
import { notifyResponseStart } from './timeouts';
import {
  ProviderError,
  type ProviderAdapter,
  type ProviderCallOptions,
  type ProviderEvent,
  type ProviderUsage,
} from './types';

/** The request field that carries the output cap. */
export type MaxTokensParameter = 'max_completion_tokens' | 'max_tokens';

export interface OpenAiCompatibleOptions {
  /** The provider this endpoint bills as, for errors and the catalog. */
  provider: ProviderName;
  apiKey: string;
  /** Base URL that `/chat/completions` is appended to, e.g. https://api.openai.com/v1. */
  baseUrl: string;
  /**
   * OpenAI's reasoning models reject `max_tokens` and need
   * `max_completion_tokens`; some compatible servers only know `max_tokens`.
   */
  maxTokensParameter?: MaxTokensParameter;
}

/**
 * Creates an adapter that streams chat completions from an OpenAI-compatible
 * endpoint with `stream_options.include_usage`, so the last chunk carries
 * the usage that settles the bill.
 */
export function createOpenAiCompatibleAdapter(
  options: OpenAiCompatibleOptions,
): ProviderAdapter {
  const endpoint = `${options.baseUrl.replace(/\/+$/, '')}/chat/completions`;
  const maxTokensParameter =
    options.maxTokensParameter ?? 'max_completion_tokens';

  return {
    provider: options.provider,
    streamChat: (call) =>
      streamChatCompletion({
        provider: options.provider,
        apiKey: options.apiKey,
        endpoint,
        maxTokensParameter,
        call,
      }),
  };
}

interface StreamRequest {
  provider: ProviderName;
  apiKey: string;
  endpoint: string;
  maxTokensParameter: MaxTokensParameter;
  call: ProviderCallOptions;
}

async function* streamChatCompletion(
  request: StreamRequest,
): AsyncGenerator<ProviderEvent> {
  const { provider, call } = request;
  const response = await postChatCompletion(request);
  notifyResponseStart(call);

  if (!response.ok) {
    throw await readHttpError(provider, response);
  }
  if (!response.body) {
    throw new ProviderError({
      provider,
      message: `${provider} returned HTTP ${response.status} with an empty body instead of an event stream.`,
      status: response.status,
      retryable: true,
    });
  }

  let finishReason: string | undefined;
  let sawDone = false;
  const body = response.body;
  try {
    for await (const message of readSseStream(body)) {
      if (message.data === '[DONE]') {
        sawDone = true;
        break;
      }
      const chunk = parseChunk(provider, message.data);
      if (chunk.error) {
        throw createStreamError(provider, chunk.error);
      }
      for (const choice of chunk.choices ?? []) {
        const text = choice.delta?.content;
        if (typeof text === 'string' && text !== '') {
          yield { type: 'text-delta', text };
        }
        if (choice.finish_reason) {
          finishReason = choice.finish_reason;
        }
      }
      if (chunk.usage) {
        yield { type: 'usage', usage: readUsage(chunk.usage) };
      }
    }
  } catch (error) {
    if (call.signal.aborted || error instanceof ProviderError) {
      throw error;
    }
    throw new ProviderError({
      provider,
      message: `The ${provider} stream broke before the answer finished: ${describe(error)}.`,
      retryable: true,
      cause: error,
    });
  } finally {
    // Frees the connection when the loop left before the body ended.
    await body.cancel().catch(() => undefined);
  }

  if (!sawDone && finishReason === undefined) {
    throw new ProviderError({
      provider,
      message: `The ${provider} stream ended without a finish reason or [DONE]; the answer may be cut short.`,
      retryable: true,
    });
  }
  yield { type: 'finish', reason: finishReason ?? 'stop' };
}

async function postChatCompletion(request: StreamRequest): Promise<Response> {
  const { call } = request;
  const body = {
    model: call.model,
    messages: [{ role: 'system', content: call.system }, ...call.messages],
    stream: true,
    stream_options: { include_usage: true },
    [request.maxTokensParameter]: call.maxOutputTokens,
  };

  try {
    return await fetch(request.endpoint, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${request.apiKey}`,
        'content-type': 'application/json',
        accept: 'text/event-stream',
      },
      body: JSON.stringify(body),
      signal: call.signal,
    });
  } catch (error) {
    if (call.signal.aborted) {
      throw error;
    }
    throw new ProviderError({
      provider: request.provider,
      message: `Could not reach ${request.provider} at ${new URL(request.endpoint).origin}: ${describe(error)}.`,
      retryable: true,
      cause: error,
    });
  }
}

/** One streamed chunk, reduced to the fields this adapter reads. */
interface ChatCompletionChunk {
  choices?: Array<{
    delta?: { content?: string | null };
    finish_reason?: string | null;
  }>;
  usage?: OpenAiUsage | null;
  error?: { message?: string; type?: string; code?: string | number };
}

interface OpenAiUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number } | null;
}

function parseChunk(provider: ProviderName, data: string): ChatCompletionChunk {
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch (error) {
    throw new ProviderError({
      provider,
      message: `${provider} sent an event that is not valid JSON: ${truncate(data)}`,
      retryable: true,
      cause: error,
    });
  }
  if (typeof parsed !== 'object' || parsed === null) {
    throw new ProviderError({
      provider,
      message: `${provider} sent an event that is not a JSON object: ${truncate(data)}`,
      retryable: true,
    });
  }
  return parsed as ChatCompletionChunk;
}

/**
 * Converts OpenAI usage to ProviderUsage. `completion_tokens` already
 * includes reasoning tokens, and `prompt_tokens` includes cached ones.
 */
function readUsage(usage: OpenAiUsage): ProviderUsage {
  return {
    inputTokens: toCount(usage.prompt_tokens),
    cachedInputTokens: toCount(usage.prompt_tokens_details?.cached_tokens),
    outputTokens: toCount(usage.completion_tokens),
  };
}

function createStreamError(
  provider: ProviderName,
  error: NonNullable<ChatCompletionChunk['error']>,
): ProviderError {
  const kind = `${error.type ?? ''} ${error.code ?? ''}`.toLowerCase();
  const retryable = /server_error|overloaded|rate_limit|unavailable/.test(kind);
  return new ProviderError({
    provider,
    message: `${provider} reported an error in the stream: ${truncate(error.message ?? kind.trim())}`,
    retryable,
  });
}

async function readHttpError(
  provider: ProviderName,
  response: Response,
): Promise<ProviderError> {
  const status = response.status;
  const detail = await readErrorDetail(response);
  return new ProviderError({
    provider,
    message: `${provider} returned HTTP ${status}${detail ? `: ${detail}` : '.'}`,
    status,
    retryAfterSeconds: readRetryAfter(response.headers),
    retryable: isRetryableStatus(status),
  });
}

/**
 * Reads the wait a provider requests: OpenAI's `retry-after-ms` (finer,
 * so it wins) or the standard `Retry-After`, in seconds.
 */
function readRetryAfter(headers: Headers): number | undefined {
  const milliseconds = headers.get('retry-after-ms')?.trim() ?? '';
  if (/^\d+(\.\d+)?$/.test(milliseconds)) {
    return Number(milliseconds) / 1000;
  }
  return parseRetryAfter(headers.get('retry-after'));
}

async function readErrorDetail(response: Response): Promise<string> {
  let text: string;
  try {
    text = await response.text();
  } catch {
    return '';
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    const message = findErrorMessage(parsed);
    if (message) {
      return truncate(message);
    }
  } catch {
    // Not JSON: keep the raw text below.
  }
  return truncate(text.trim());
}

/** Finds `error.message` in OpenAI's shape, or in the array shape Gemini uses. */
function findErrorMessage(value: unknown): string | undefined {
  const body = Array.isArray(value) ? value[0] : value;
  if (typeof body !== 'object' || body === null) {
    return undefined;
  }
  const error = (body as { error?: unknown }).error;
  if (typeof error === 'object' && error !== null) {
    const message = (error as { message?: unknown }).message;
    return typeof message === 'string' ? message : undefined;
  }
  return typeof error === 'string' ? error : undefined;
}
