/**
 * A fake LLM provider for tests: a real HTTP server on 127.0.0.1 that speaks
 * the OpenAI chat completions, Anthropic Messages and Gemini wire formats,
 * records every request, and answers each one with the next scripted step
 * (a normal answer when nothing is scripted).
 */
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  buildAnswerBody,
  buildAnswerFrames,
  buildErrorBody,
  buildErrorFrame,
  buildMalformedFrame,
  type AnswerPlan,
  type FakeFormat,
  type FakeUsage,
} from './formats';
import {
  allRequestText,
  lastUserText,
  matchRoute,
  wantsOpenAiUsage,
  type ParsedRoute,
} from './requests';
import { findAwkwardCuts } from './split';

export type { FakeFormat, FakeUsage } from './formats';
export { findAwkwardCuts } from './split';

/** The content of a streamed answer; every field has a default. */
export interface FakeAnswerContent {
  /** The answer text; split into one delta per word unless `deltas` is set. */
  text?: string;
  /** The exact text deltas to send; overrides `text`. */
  deltas?: string[];
  /** Usage to report; missing fields are estimated from the request and the deltas. */
  usage?: FakeUsage;
}

/** A normal streamed answer (or JSON answer for a non-streaming request). */
export interface FakeAnswerStep extends FakeAnswerContent {
  type: 'answer';
  /** Pause between deltas, in milliseconds. */
  chunkDelayMs?: number;
}

/** An HTTP error answer with the format's error body. */
export interface FakeStatusStep {
  type: 'status';
  status: number;
  /** `Retry-After` header: seconds, or an HTTP date as a string. */
  retryAfter?: number | string;
  /** Response body; a string is sent as is, anything else as JSON. */
  body?: unknown;
  /** Extra response headers, such as Anthropic's `x-should-retry`. */
  headers?: Record<string, string>;
}

/** Silence before the first byte, then another step (a normal answer by default). */
export interface FakeSlowFirstByteStep {
  type: 'slow-first-byte';
  delayMs: number;
  /**
   * `headers` (default) waits before anything is sent; `body` sends the 200
   * headers at once and waits before the first body byte. With `body`, the
   * next step must be a streaming one, because the status is already sent.
   */
  stage?: 'headers' | 'body';
  then?: FakeStep;
}

/** A 200 stream that sends some deltas, then destroys the socket. */
export interface FakeDropMidStreamStep extends FakeAnswerContent {
  type: 'drop-mid-stream';
  afterDeltas: number;
}

/** A 200 stream that sends deltas and ends cleanly with no finish event or `[DONE]`. */
export interface FakeEndWithoutFinishStep extends FakeAnswerContent {
  type: 'end-without-finish';
  /** Deltas sent before the end; all of them by default. */
  afterDeltas?: number;
}

/** A 200 stream with an event whose JSON is cut short, then the rest of the answer. */
export interface FakeMalformedEventStep extends FakeAnswerContent {
  type: 'malformed-event';
  /** Deltas sent before the malformed event; 1 by default. */
  afterDeltas?: number;
}

/** A 200 stream that sends some deltas, then an error event in the format's shape, then ends. */
export interface FakeErrorEventStep extends FakeAnswerContent {
  type: 'error-event';
  /** Deltas sent before the error event; 1 by default. */
  afterDeltas?: number;
  /** Provider error type, for example `overloaded_error` (the default). */
  errorType?: string;
  message?: string;
}

/**
 * A whole answer written in pieces cut at awkward byte positions: inside
 * multi-byte UTF-8 characters, between `\r` and `\n`, and in the middle of
 * every event. The default text contains 2-, 3- and 4-byte characters.
 */
export interface FakeSplitStep extends FakeAnswerContent {
  type: 'split';
  /** Line ending of the SSE frames; `\r\n` by default. */
  lineEnding?: '\n' | '\r\n' | '\r';
  /** Explicit byte offsets to cut at, instead of the awkward ones. */
  cuts?: number[];
}

/** A 200 stream that goes silent after some deltas, then finishes normally. */
export interface FakeStallStep extends FakeAnswerContent {
  type: 'stall';
  afterDeltas: number;
  /** Silence, in milliseconds. */
  ms: number;
}

export type FakeStep =
  | FakeAnswerStep
  | FakeStatusStep
  | FakeSlowFirstByteStep
  | FakeDropMidStreamStep
  | FakeEndWithoutFinishStep
  | FakeMalformedEventStep
  | FakeErrorEventStep
  | FakeSplitStep
  | FakeStallStep;

/** One request the fake provider received on a path it serves. */
export interface FakeRequest {
  format: FakeFormat;
  method: string;
  /** Path and query string, as sent. */
  path: string;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body, or the raw text when it is not JSON. */
  body: unknown;
  model: string;
  stream: boolean;
}

export interface FakeProvider {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** Base URL of the OpenAI format; serves `POST /chat/completions`. */
  openaiBaseUrl: string;
  /** Base URL of the Anthropic format; serves `POST /v1/messages`. */
  anthropicBaseUrl: string;
  /**
   * Base URL of the Gemini format; serves
   * `POST /v1beta/models/{model}:streamGenerateContent?alt=sse` and `:generateContent`.
   */
  geminiBaseUrl: string;
  /** Every request received on a served path, oldest first. */
  requests: FakeRequest[];
  /** Scripts the next requests, first in first out, across all formats. */
  enqueue(...steps: FakeStep[]): void;
  /** Number of scripted steps not yet used. */
  readonly pendingSteps: number;
  /** Stops the server, ends open connections and cancels pending pauses. */
  close(): Promise<void>;
}

/**
 * Builds the default answer text, which gives the length of the last user
 * message in code points.
 */
export function describeDefaultAnswer(lastUserMessage: string): string {
  const length = [...lastUserMessage].length;
  return `Fake answer: your last message had ${length} characters.`;
}

const SPLIT_DEFAULT_TEXT = 'Split answer: café, 🙂 and 中文 arrive whole.';

type Action =
  | { kind: 'write'; chunk: string | Uint8Array }
  | { kind: 'wait'; ms: number }
  | { kind: 'destroy' };

interface Exchange {
  route: ParsedRoute;
  body: unknown;
  response: ServerResponse;
}

/** Starts a fake provider on 127.0.0.1 at a free port. */
export async function startFakeProvider(): Promise<FakeProvider> {
  const queue: FakeStep[] = [];
  const requests: FakeRequest[] = [];
  const closing = new AbortController();

  const server = createServer((request, response) => {
    handleRequest(request, response).catch((error: unknown) => {
      response.destroy(error instanceof Error ? error : undefined);
    });
  });

  async function handleRequest(
    request: IncomingMessage,
    response: ServerResponse,
  ): Promise<void> {
    const raw = await readBody(request);
    const body = parseJson(raw);
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const method = request.method ?? 'GET';
    const route = matchRoute(method, url, body);
    if (!route) {
      sendJson(response, 404, {
        error: {
          message: `The fake provider does not serve ${method} ${url.pathname}.`,
        },
      });
      return;
    }

    requests.push({
      format: route.format,
      method,
      path: url.pathname + url.search,
      headers: request.headers,
      body,
      model: route.model,
      stream: route.stream,
    });
    const step = queue.shift() ?? { type: 'answer' };
    await runStep({ route, body, response }, step);
  }

  async function runStep(exchange: Exchange, step: FakeStep): Promise<void> {
    if (step.type === 'status') {
      sendStatus(exchange, step);
      return;
    }
    if (step.type === 'slow-first-byte') {
      if (step.stage === 'body') {
        exchange.response.writeHead(200, streamHeaders(exchange.route));
        exchange.response.flushHeaders();
      }
      const waited = await pause(exchange.response, step.delayMs);
      if (waited) {
        await runStep(exchange, step.then ?? { type: 'answer' });
      }
      return;
    }
    if (exchange.route.stream && !exchange.route.sse) {
      // NOTE: Gemini's JSON-array streaming (no alt=sse) is not implemented.
      sendJson(exchange.response, 400, {
        error: {
          code: 400,
          message:
            'The fake provider streams Gemini answers only with alt=sse.',
          status: 'INVALID_ARGUMENT',
        },
      });
      return;
    }
    const actions = exchange.route.stream
      ? planStream(exchange, step)
      : planJson(exchange, step);
    await perform(exchange, actions);
  }

  async function perform(exchange: Exchange, actions: Action[]): Promise<void> {
    const { response } = exchange;
    if (!response.headersSent) {
      const headers = exchange.route.stream
        ? streamHeaders(exchange.route)
        : { 'content-type': 'application/json' };
      response.writeHead(200, headers);
    }
    for (const action of actions) {
      if (response.destroyed) {
        return;
      }
      if (action.kind === 'write') {
        // Waiting for each write to flush keeps a later destroy from
        // discarding data that is still buffered.
        await new Promise<void>((resolve) => {
          response.write(action.chunk, () => resolve());
        });
      } else if (action.kind === 'wait') {
        await pause(response, action.ms);
      } else {
        response.socket?.destroy();
        response.destroy();
        return;
      }
    }
    response.end();
  }

  function pause(response: ServerResponse, ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      if (closing.signal.aborted || response.destroyed) {
        resolve(false);
        return;
      }
      const finish = (completed: boolean) => {
        clearTimeout(timer);
        closing.signal.removeEventListener('abort', onAbort);
        response.off('close', onAbort);
        resolve(completed);
      };
      const onAbort = () => finish(false);
      const timer = setTimeout(() => finish(true), ms);
      closing.signal.addEventListener('abort', onAbort);
      response.on('close', onAbort);
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    openaiBaseUrl: `${url}/openai/v1`,
    anthropicBaseUrl: `${url}/anthropic`,
    geminiBaseUrl: `${url}/gemini`,
    requests,
    enqueue(...steps: FakeStep[]) {
      queue.push(...steps);
    },
    get pendingSteps() {
      return queue.length;
    },
    close() {
      queue.length = 0;
      closing.abort();
      return new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}

function planStream(exchange: Exchange, step: FakeStep): Action[] {
  const plan = buildPlan(exchange, step);
  const frames = buildAnswerFrames(plan);
  const write = (chunk: string): Action => ({ kind: 'write', chunk });
  const head = frames.head.map(write);
  const finish = frames.finish.map(write);
  const deltasUpTo = (count: number) =>
    frames.deltas.slice(0, count).map(write);
  const deltasFrom = (count: number) => frames.deltas.slice(count).map(write);

  switch (step.type) {
    case 'answer': {
      const delay = step.chunkDelayMs ?? 0;
      const deltas = frames.deltas.flatMap((chunk, index): Action[] =>
        index > 0 && delay > 0
          ? [{ kind: 'wait', ms: delay }, write(chunk)]
          : [write(chunk)],
      );
      return [...head, ...deltas, ...finish];
    }
    case 'drop-mid-stream':
      return [...head, ...deltasUpTo(step.afterDeltas), { kind: 'destroy' }];
    case 'end-without-finish':
      return [...head, ...deltasUpTo(step.afterDeltas ?? frames.deltas.length)];
    case 'malformed-event': {
      const after = step.afterDeltas ?? 1;
      const malformed = buildMalformedFrame(plan.format, plan.lineEnding);
      return [
        ...head,
        ...deltasUpTo(after),
        write(malformed),
        ...deltasFrom(after),
        ...finish,
      ];
    }
    case 'error-event': {
      const after = step.afterDeltas ?? 1;
      const errorFrame = buildErrorFrame(
        plan.format,
        plan.lineEnding,
        step.errorType ?? 'overloaded_error',
        step.message ?? 'The fake provider is overloaded.',
      );
      return [...head, ...deltasUpTo(after), write(errorFrame)];
    }
    case 'stall':
      return [
        ...head,
        ...deltasUpTo(step.afterDeltas),
        { kind: 'wait', ms: step.ms },
        ...deltasFrom(step.afterDeltas),
        ...finish,
      ];
    case 'split': {
      const bytes = new TextEncoder().encode(
        [...frames.head, ...frames.deltas, ...frames.finish].join(''),
      );
      const cuts = step.cuts ?? findAwkwardCuts(bytes);
      return cutBytes(bytes, cuts).flatMap((piece, index): Action[] =>
        // A short pause between pieces keeps the kernel from merging them
        // into one TCP segment, so the client really reads them apart.
        index > 0
          ? [
              { kind: 'wait', ms: 2 },
              { kind: 'write', chunk: piece },
            ]
          : [{ kind: 'write', chunk: piece }],
      );
    }
    default:
      return [...head, ...frames.deltas.map(write), ...finish];
  }
}

function planJson(exchange: Exchange, step: FakeStep): Action[] {
  const body = JSON.stringify(buildAnswerBody(buildPlan(exchange, step)));
  if (step.type === 'drop-mid-stream') {
    return [
      { kind: 'write', chunk: body.slice(0, Math.floor(body.length / 2)) },
      { kind: 'destroy' },
    ];
  }
  if (step.type === 'malformed-event') {
    return [{ kind: 'write', chunk: body.slice(0, -2) }];
  }
  return [{ kind: 'write', chunk: body }];
}

function buildPlan(exchange: Exchange, step: FakeStep): AnswerPlan {
  const { route, body } = exchange;
  const content: FakeAnswerContent = isContentStep(step) ? step : {};
  const fallbackText =
    step.type === 'split'
      ? SPLIT_DEFAULT_TEXT
      : describeDefaultAnswer(lastUserText(route.format, body));
  const deltas =
    content.deltas ?? splitIntoDeltas(content.text ?? fallbackText);
  const usage = content.usage ?? {};
  const estimatedInput = Math.max(
    1,
    Math.ceil(allRequestText(route.format, body).length / 4),
  );

  return {
    format: route.format,
    model: route.model,
    deltas,
    usage: {
      inputTokens: usage.inputTokens ?? estimatedInput,
      cachedInputTokens: usage.cachedInputTokens ?? 0,
      cacheCreationInputTokens: usage.cacheCreationInputTokens ?? 0,
      outputTokens: usage.outputTokens ?? deltas.length,
      reasoningTokens: usage.reasoningTokens ?? 0,
    },
    includeUsage: route.format === 'openai' && wantsOpenAiUsage(body),
    lineEnding: step.type === 'split' ? (step.lineEnding ?? '\r\n') : '\n',
  };
}

function isContentStep(
  step: FakeStep,
): step is Exclude<FakeStep, FakeStatusStep | FakeSlowFirstByteStep> {
  return step.type !== 'status' && step.type !== 'slow-first-byte';
}

/** Splits a text into one delta per word, each keeping its trailing space. */
function splitIntoDeltas(text: string): string[] {
  return text.match(/\s*\S+\s*/gu) ?? [text];
}

function cutBytes(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts)]
    .filter((cut) => cut > 0 && cut < bytes.length)
    .sort((left, right) => left - right);
  const pieces: Uint8Array[] = [];
  let start = 0;
  for (const point of points) {
    pieces.push(bytes.subarray(start, point));
    start = point;
  }
  pieces.push(bytes.subarray(start));
  return pieces;
}

function sendStatus(exchange: Exchange, step: FakeStatusStep): void {
  const { response, route } = exchange;
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    ...step.headers,
  };
  if (step.retryAfter !== undefined) {
    headers['retry-after'] = String(step.retryAfter);
  }
  const body =
    step.body === undefined
      ? JSON.stringify(buildErrorBody(route.format, step.status))
      : typeof step.body === 'string'
        ? step.body
        : JSON.stringify(step.body);
  response.writeHead(step.status, headers);
  response.end(body);
}

function streamHeaders(route: ParsedRoute): Record<string, string> {
  return {
    'content-type': route.sse
      ? 'text/event-stream; charset=utf-8'
      : 'application/json',
    'cache-control': 'no-cache',
  };
}

function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) {
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}
