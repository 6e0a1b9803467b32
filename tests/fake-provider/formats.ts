/**
 * The wire shapes of the three provider formats the fake provider speaks:
 * OpenAI chat completions, the Anthropic Messages API and the Gemini API.
 * Each builder returns SSE frames (one complete event each) or a JSON body.
 */

export type FakeFormat = 'openai' | 'anthropic' | 'gemini';

/** Token usage to report, in neutral terms; each format maps it to its own fields. */
export interface FakeUsage {
  /** All input tokens, cached and cache-creation ones included. */
  inputTokens?: number;
  /** Input tokens read from the prompt cache (part of inputTokens). */
  cachedInputTokens?: number;
  /** Input tokens written to the prompt cache, Anthropic only (part of inputTokens). */
  cacheCreationInputTokens?: number;
  /** Visible output tokens, reasoning tokens excluded. */
  outputTokens?: number;
  /** Reasoning (thinking) tokens, billed as output. */
  reasoningTokens?: number;
}

export type ResolvedUsage = Required<FakeUsage>;

/** What one streamed answer consists of, before it is framed. */
export interface AnswerPlan {
  format: FakeFormat;
  model: string;
  deltas: string[];
  usage: ResolvedUsage;
  /** OpenAI only: send the final usage chunk (`stream_options.include_usage`). */
  includeUsage: boolean;
  lineEnding: string;
}

/** SSE frames of one answer: the opening frames, one frame per delta, the closing frames. */
export interface AnswerFrames {
  head: string[];
  deltas: string[];
  finish: string[];
}

const RESPONSE_ID = 'fake-response-1';
const CREATED_SECONDS = 1_700_000_000;

/** Encodes one SSE event; `event` is omitted for formats that name none. */
export function encodeFrame(
  data: string,
  lineEnding: string,
  event?: string,
): string {
  const lines = event === undefined ? [] : [`event: ${event}`];
  lines.push(`data: ${data}`);
  return lines.join(lineEnding) + lineEnding + lineEnding;
}

/** Builds the SSE frames of a streamed answer in the plan's format. */
export function buildAnswerFrames(plan: AnswerPlan): AnswerFrames {
  if (plan.format === 'openai') {
    return buildOpenAiFrames(plan);
  }
  if (plan.format === 'anthropic') {
    return buildAnthropicFrames(plan);
  }
  return buildGeminiFrames(plan);
}

function buildOpenAiFrames(plan: AnswerPlan): AnswerFrames {
  const frame = (value: unknown) =>
    encodeFrame(JSON.stringify(value), plan.lineEnding);
  const chunk = (delta: object, finishReason: string | null) => ({
    id: RESPONSE_ID,
    object: 'chat.completion.chunk',
    created: CREATED_SECONDS,
    model: plan.model,
    choices: [{ index: 0, delta, finish_reason: finishReason }],
    ...(plan.includeUsage ? { usage: null } : {}),
  });

  const finish = [frame(chunk({}, 'stop'))];
  if (plan.includeUsage) {
    finish.push(
      frame({
        id: RESPONSE_ID,
        object: 'chat.completion.chunk',
        created: CREATED_SECONDS,
        model: plan.model,
        choices: [],
        usage: toOpenAiUsage(plan.usage),
      }),
    );
  }
  finish.push(encodeFrame('[DONE]', plan.lineEnding));

  return {
    head: [frame(chunk({ role: 'assistant', content: '' }, null))],
    deltas: plan.deltas.map((text) => frame(chunk({ content: text }, null))),
    finish,
  };
}

function buildAnthropicFrames(plan: AnswerPlan): AnswerFrames {
  const frame = (event: string, value: unknown) =>
    encodeFrame(
      JSON.stringify({ type: event, ...(value as object) }),
      plan.lineEnding,
      event,
    );
  const input = toAnthropicInputUsage(plan.usage);
  const outputTokens = plan.usage.outputTokens + plan.usage.reasoningTokens;

  return {
    head: [
      frame('message_start', {
        message: {
          id: RESPONSE_ID,
          type: 'message',
          role: 'assistant',
          model: plan.model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { ...input, output_tokens: 1 },
        },
      }),
      frame('content_block_start', {
        index: 0,
        content_block: { type: 'text', text: '' },
      }),
      frame('ping', {}),
    ],
    deltas: plan.deltas.map((text) =>
      frame('content_block_delta', {
        index: 0,
        delta: { type: 'text_delta', text },
      }),
    ),
    finish: [
      frame('content_block_stop', { index: 0 }),
      // The usage here is cumulative for the whole message, input fields
      // included, so an adapter that adds it to message_start counts twice.
      frame('message_delta', {
        delta: { stop_reason: 'end_turn', stop_sequence: null },
        usage: { ...input, output_tokens: outputTokens },
      }),
      frame('message_stop', {}),
    ],
  };
}

function buildGeminiFrames(plan: AnswerPlan): AnswerFrames {
  const frame = (value: unknown) =>
    encodeFrame(JSON.stringify(value), plan.lineEnding);
  const count = plan.deltas.length;
  // Gemini reports a running total on every chunk, so the visible output
  // count grows chunk by chunk and the final chunk carries the full figure.
  const runningUsage = (outputSoFar: number) =>
    toGeminiUsage({ ...plan.usage, outputTokens: outputSoFar });
  const chunk = (text: string, outputSoFar: number, finishReason?: string) => ({
    candidates: [
      {
        content: { parts: [{ text }], role: 'model' },
        ...(finishReason === undefined ? {} : { finishReason }),
        index: 0,
      },
    ],
    usageMetadata: runningUsage(outputSoFar),
    modelVersion: plan.model,
    responseId: RESPONSE_ID,
  });

  return {
    head: [],
    deltas: plan.deltas.map((text, index) =>
      frame(
        chunk(
          text,
          Math.floor((plan.usage.outputTokens * (index + 1)) / (count + 1)),
        ),
      ),
    ),
    finish: [frame(chunk('', plan.usage.outputTokens, 'STOP'))],
  };
}

/** Builds a malformed event for the format: a data line whose JSON is cut short. */
export function buildMalformedFrame(
  format: FakeFormat,
  lineEnding: string,
): string {
  if (format === 'anthropic') {
    return encodeFrame(
      '{"type":"content_block_delta","index":0,"delta":{"type":"text_',
      lineEnding,
      'content_block_delta',
    );
  }
  if (format === 'openai') {
    return encodeFrame(
      '{"id":"fake","choices":[{"delta":{"content',
      lineEnding,
    );
  }
  return encodeFrame('{"candidates":[{"content":{"parts":[{"te', lineEnding);
}

/** Builds an error event sent inside a 200 stream, in the format's own shape. */
export function buildErrorFrame(
  format: FakeFormat,
  lineEnding: string,
  errorType: string,
  message: string,
): string {
  if (format === 'anthropic') {
    return encodeFrame(
      JSON.stringify({ type: 'error', error: { type: errorType, message } }),
      lineEnding,
      'error',
    );
  }
  if (format === 'openai') {
    return encodeFrame(
      JSON.stringify({ error: { message, type: errorType, code: null } }),
      lineEnding,
    );
  }
  return encodeFrame(
    JSON.stringify({ error: { code: 503, message, status: errorType } }),
    lineEnding,
  );
}

/** Builds the JSON body of an HTTP error in the format's own shape. */
export function buildErrorBody(format: FakeFormat, status: number): unknown {
  const message = `Fake provider error with status ${status}.`;
  if (format === 'anthropic') {
    return {
      type: 'error',
      error: { type: anthropicErrorType(status), message },
    };
  }
  if (format === 'openai') {
    return {
      error: {
        message,
        type: status === 429 ? 'rate_limit_exceeded' : 'server_error',
        param: null,
        code: null,
      },
    };
  }
  return {
    error: { code: status, message, status: geminiErrorStatus(status) },
  };
}

function anthropicErrorType(status: number): string {
  if (status === 429) {
    return 'rate_limit_error';
  }
  if (status === 529) {
    return 'overloaded_error';
  }
  if (status === 401) {
    return 'authentication_error';
  }
  if (status === 400) {
    return 'invalid_request_error';
  }
  return 'api_error';
}

function geminiErrorStatus(status: number): string {
  if (status === 429) {
    return 'RESOURCE_EXHAUSTED';
  }
  if (status === 503) {
    return 'UNAVAILABLE';
  }
  if (status === 400) {
    return 'INVALID_ARGUMENT';
  }
  return 'INTERNAL';
}

/** Builds the non-streaming JSON response of a whole answer. */
export function buildAnswerBody(plan: AnswerPlan): unknown {
  const text = plan.deltas.join('');
  if (plan.format === 'openai') {
    return {
      id: RESPONSE_ID,
      object: 'chat.completion',
      created: CREATED_SECONDS,
      model: plan.model,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: text },
          finish_reason: 'stop',
        },
      ],
      usage: toOpenAiUsage(plan.usage),
    };
  }
  if (plan.format === 'anthropic') {
    return {
      id: RESPONSE_ID,
      type: 'message',
      role: 'assistant',
      model: plan.model,
      content: [{ type: 'text', text }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: {
        ...toAnthropicInputUsage(plan.usage),
        output_tokens: plan.usage.outputTokens + plan.usage.reasoningTokens,
      },
    };
  }
  return {
    candidates: [
      {
        content: { parts: [{ text }], role: 'model' },
        finishReason: 'STOP',
        index: 0,
      },
    ],
    usageMetadata: toGeminiUsage(plan.usage),
    modelVersion: plan.model,
    responseId: RESPONSE_ID,
  };
}

function toOpenAiUsage(usage: ResolvedUsage) {
  const completion = usage.outputTokens + usage.reasoningTokens;
  return {
    prompt_tokens: usage.inputTokens,
    completion_tokens: completion,
    total_tokens: usage.inputTokens + completion,
    prompt_tokens_details: { cached_tokens: usage.cachedInputTokens },
    completion_tokens_details: { reasoning_tokens: usage.reasoningTokens },
  };
}

// Anthropic splits input three ways: input_tokens counts only the tokens
// after the last cache breakpoint, so the three fields sum to all input.
function toAnthropicInputUsage(usage: ResolvedUsage) {
  return {
    input_tokens: Math.max(
      0,
      usage.inputTokens -
        usage.cachedInputTokens -
        usage.cacheCreationInputTokens,
    ),
    cache_creation_input_tokens: usage.cacheCreationInputTokens,
    cache_read_input_tokens: usage.cachedInputTokens,
  };
}

// promptTokenCount includes cached tokens; thoughtsTokenCount is reported
// apart from candidatesTokenCount, and both are billed as output.
function toGeminiUsage(usage: ResolvedUsage) {
  return {
    promptTokenCount: usage.inputTokens,
    candidatesTokenCount: usage.outputTokens,
    totalTokenCount:
      usage.inputTokens + usage.outputTokens + usage.reasoningTokens,
    ...(usage.cachedInputTokens > 0
      ? { cachedContentTokenCount: usage.cachedInputTokens }
      : {}),
    ...(usage.reasoningTokens > 0
      ? { thoughtsTokenCount: usage.reasoningTokens }
      : {}),
  };
}
