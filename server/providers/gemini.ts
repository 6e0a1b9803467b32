/**
 * A provider adapter for the native Gemini API (`streamGenerateContent` with
 * `alt=sse`). The system prompt goes in `systemInstruction`, ahead of the
 * conversation, so Gemini's implicit prompt cache can serve it.
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

export interface GeminiAdapterOptions {
  apiKey: string;
  /**
   * Base URL, e.g. https://generativelanguage.googleapis.com. A trailing
   * `/v1beta` or `/v1beta/openai` is accepted, so the value configured for
   * Gemini's OpenAI-compatible endpoint works too.
   */
  baseUrl: string;
}

/** Gemini error statuses for failures that a later attempt may not hit. */
const RETRYABLE_STATUSES = new Set([
  'RESOURCE_EXHAUSTED',
  'UNAVAILABLE',
  'INTERNAL',
  'DEADLINE_EXCEEDED',
]);

/** Finish reasons that mean the answer was blocked by a safety or policy filter. */
const FILTERED_FINISH_REASONS = new Set([
  'SAFETY',
  'RECITATION',
  'BLOCKLIST',
  'PROHIBITED_CONTENT',
  'SPII',
  'IMAGE_SAFETY',
]);

/**
 * Creates an adapter that streams answers from the native Gemini API. Usage
 * arrives as a running total on every chunk, so the adapter keeps the last
 * figures and reports them once.
 */
export function createGeminiAdapter(
  options: GeminiAdapterOptions,
): ProviderAdapter {
  const root = options.baseUrl
    .replace(/\/+$/, '')
    .replace(/\/openai$/, '')
    .replace(/\/v1beta$/, '');

  return {
    provider: 'gemini',
    streamChat: (call) => {
      // Gemini names models "models/<id>"; accept the id with or without it.
      const model = encodeURIComponent(call.model.replace(/^models\//, ''));
      const path = `/v1beta/models/${model}:streamGenerateContent?alt=sse`;
      return streamContent(joinUrl(root, path), options.apiKey, call);
    },
  };
}

/** Builds the `generateContent` request body for one call. */
export function buildGeminiRequest(call: ProviderCallOptions): unknown {
  return {
    systemInstruction: { parts: [{ text: call.system }] },
    contents: call.messages
      .filter((message) => message.content !== '')
      .map((message) => ({
        role: message.role === 'assistant' ? 'model' : 'user',
        parts: [{ text: message.content }],
      })),
    generationConfig: { maxOutputTokens: call.maxOutputTokens },
  };
}

async function* streamContent(
  url: string,
  apiKey: string,
  call: ProviderCallOptions,
): AsyncGenerator<ProviderEvent> {
  const response = await postForStream({
    provider: 'gemini',
    url,
    headers: { 'x-goog-api-key': apiKey },
    body: buildGeminiRequest(call),
    signal: call.signal,
  });
  notifyResponseStart(call);

  if (!response.ok) {
    throw await readHttpError(response);
  }
  if (!response.body) {
    throw new ProviderError({
      provider: 'gemini',
      message: `gemini returned HTTP ${response.status} with an empty body instead of an event stream.`,
      status: response.status,
      retryable: true,
    });
  }

  let usage: ProviderUsage | undefined;
  let finishReason: string | undefined;
  const body = response.body;
  try {
    for await (const message of readSseStream(body)) {
      const chunk = parseChunk(message.data);
      if (chunk.error) {
        throw createStreamError(chunk.error);
      }

      const candidate = chunk.candidates?.[0];
      for (const part of candidate?.content?.parts ?? []) {
        // Thought summaries are reasoning, not part of the answer.
        if (
          typeof part.text === 'string' &&
          part.text !== '' &&
          !part.thought
        ) {
          yield { type: 'text-delta', text: part.text };
        }
      }
      if (chunk.usageMetadata) {
        usage = toProviderUsage(chunk.usageMetadata);
      }
      if (candidate?.finishReason) {
        finishReason = candidate.finishReason;
      } else if (chunk.promptFeedback?.blockReason) {
        // A blocked prompt gets no candidates, only the reason.
        finishReason = 'SAFETY';
      }
    }
  } catch (error) {
    throw toStreamError('gemini', error, call.signal);
  } finally {
    // Frees the connection when the loop left before the body ended.
    await body.cancel().catch(() => undefined);
  }

  if (finishReason === undefined) {
    throw new ProviderError({
      provider: 'gemini',
      message:
        'The gemini stream ended without a finish reason, so the answer may be cut short.',
      retryable: true,
    });
  }
  if (usage) {
    yield { type: 'usage', usage };
  }
  yield { type: 'finish', reason: normalizeFinishReason(finishReason) };
}

interface GeminiUsageMetadata {
  promptTokenCount?: number;
  cachedContentTokenCount?: number;
  candidatesTokenCount?: number;
  thoughtsTokenCount?: number;
}

interface GeminiError {
  code?: number;
  message?: string;
  status?: string;
  details?: unknown[];
}

interface GeminiChunk {
  candidates?: Array<{
    content?: { parts?: Array<{ text?: string; thought?: boolean }> };
    finishReason?: string;
  }>;
  usageMetadata?: GeminiUsageMetadata;
  promptFeedback?: { blockReason?: string };
  error?: GeminiError;
}

function parseChunk(data: string): GeminiChunk {
  const parsed = parseJsonOrUndefined(data);
  if (!isRecord(parsed)) {
    throw new ProviderError({
      provider: 'gemini',
      message: `gemini sent an event that is not a JSON object: ${truncateDetail(data)}`,
      retryable: true,
    });
  }
  return parsed as GeminiChunk;
}

/**
 * Converts Gemini usage to ProviderUsage. `promptTokenCount` already
 * includes cached tokens, and thinking tokens are reported apart from the
 * answer's but billed as output, so output is their sum.
 */
function toProviderUsage(metadata: GeminiUsageMetadata): ProviderUsage {
  return {
    inputTokens: toTokenCount(metadata.promptTokenCount),
    cachedInputTokens: toTokenCount(metadata.cachedContentTokenCount),
    outputTokens:
      toTokenCount(metadata.candidatesTokenCount) +
      toTokenCount(metadata.thoughtsTokenCount),
  };
}

/** Maps Gemini finish reasons to the OpenAI names the other adapters use. */
function normalizeFinishReason(reason: string): string {
  if (reason === 'STOP') {
    return 'stop';
  }
  if (reason === 'MAX_TOKENS') {
    return 'length';
  }
  if (FILTERED_FINISH_REASONS.has(reason)) {
    return 'content_filter';
  }
  return reason.toLowerCase();
}

function createStreamError(error: GeminiError): ProviderError {
  const status = error.status ?? 'UNKNOWN';
  return new ProviderError({
    provider: 'gemini',
    message: `gemini reported ${status} in the stream: ${truncateDetail(error.message ?? 'no message')}`,
    status: error.code,
    retryable:
      RETRYABLE_STATUSES.has(status) ||
      (error.code !== undefined && isRetryableStatus(error.code)),
    retryAfterSeconds: readRetryDelay(error),
  });
}

async function readHttpError(response: Response): Promise<ProviderError> {
  const status = response.status;
  const text = await readBodyText(response);
  const parsed = parseJsonOrUndefined(text);
  // Gemini sometimes wraps the error object in a one-element array.
  const envelope = Array.isArray(parsed) ? parsed[0] : parsed;
  const error =
    isRecord(envelope) && isRecord(envelope.error)
      ? (envelope.error as GeminiError)
      : undefined;
  const detail = error?.message ?? text.trim();

  return new ProviderError({
    provider: 'gemini',
    message:
      `gemini returned HTTP ${status}${error?.status ? ` (${error.status})` : ''}` +
      `${detail ? `: ${truncateDetail(detail)}` : '.'}`,
    status,
    retryAfterSeconds:
      parseRetryAfter(response.headers.get('retry-after')) ??
      (error ? readRetryDelay(error) : undefined),
    retryable: isRetryableStatus(status),
  });
}

/**
 * Reads the wait Gemini suggests in a `google.rpc.RetryInfo` error detail,
 * written as a duration such as "37s" or "1.5s", in seconds.
 */
function readRetryDelay(error: GeminiError): number | undefined {
  for (const detail of error.details ?? []) {
    if (
      isRecord(detail) &&
      String(detail['@type']).endsWith('google.rpc.RetryInfo') &&
      typeof detail.retryDelay === 'string'
    ) {
      const match = /^(\d+(?:\.\d+)?)s$/.exec(detail.retryDelay);
      if (match) {
        return Number(match[1]);
      }
    }
  }
  return undefined;
}
