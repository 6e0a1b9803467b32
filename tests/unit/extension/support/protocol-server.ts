/**
 * A real HTTP server on 127.0.0.1 that speaks the backend's wire protocol
 * with scripted answers, for testing the extension's backend client and
 * the background's answer flow without the real backend.
 */
import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { encodeSseEvent } from '../../../../lib/sse';
import type {
  ChatEventName,
  ChatRequest,
  UsageResponse,
} from '../../../../lib/protocol';

/** One scripted `POST /v1/chat` response. */
export type ChatStep =
  | {
      type: 'stream';
      /** Raw stream bytes, written one chunk at a time. */
      chunks: Array<string | Uint8Array>;
      /** Keep the stream open after the chunks until the client leaves. */
      hold?: boolean;
    }
  | {
      type: 'status';
      status: number;
      /** JSON body; sent as text when a string. */
      body?: unknown;
      headers?: Record<string, string>;
    };

export interface RecordedChat {
  authorization: string | undefined;
  body: ChatRequest;
}

export interface ProtocolServer {
  url: string;
  /** Number of `POST /v1/installs` calls. */
  registrations: number;
  /** Authorization headers of the `POST /v1/installs` calls, in order. */
  registrationAuthorizations: Array<string | undefined>;
  chatRequests: RecordedChat[];
  usageRequests: number;
  /** Figures `GET /v1/usage` returns; tests change them at will. */
  usage: UsageResponse;
  /** Tokens the server accepts; registration adds one. */
  validTokens: Set<string>;
  /** When true, every token is rejected, new ones included. */
  rejectAllTokens: boolean;
  /** Authorization headers of the requests rejected with 401. */
  rejectedAuthorizations: Array<string | undefined>;
  /** Scripts the next chat response; unscripted requests get `answerEvents()`. */
  enqueueChat(step: ChatStep): void;
  /** Resolves when a held stream's client disconnects. */
  nextClientDisconnect(): Promise<void>;
  close(): Promise<void>;
}

export const DEFAULT_ANSWER_TEXT = 'Paris is the capital of France.';

/** Encodes protocol events as one SSE string. */
export function encodeEvents(
  events: ReadonlyArray<readonly [ChatEventName | string, unknown]>,
): string {
  return events.map(([name, data]) => encodeSseEvent(name, data)).join('');
}

/** Splits a text's UTF-8 bytes into chunks of `size` bytes, cutting characters and events. */
export function splitBytes(text: string, size: number): Uint8Array[] {
  const bytes = new TextEncoder().encode(text);
  const chunks: Uint8Array[] = [];
  for (let start = 0; start < bytes.length; start += size) {
    chunks.push(bytes.subarray(start, start + size));
  }
  return chunks;
}

export interface AnswerScript {
  requestId?: string;
  tier?: 'cheap' | 'premium';
  model?: string;
  text?: string;
  inputTokens?: number;
  outputTokens?: number;
  charged?: number;
  remaining?: number;
  finishReason?: string;
}

/** Builds the events of a complete answer: route, one delta per word, usage, done. */
export function answerEvents(
  script: AnswerScript = {},
): Array<[ChatEventName, unknown]> {
  const text = script.text ?? DEFAULT_ANSWER_TEXT;
  const inputTokens = script.inputTokens ?? 20;
  const outputTokens = script.outputTokens ?? 8;
  const requestId = script.requestId ?? 'request-1';
  const words = text.match(/\S+\s*/g) ?? [text];
  return [
    [
      'route',
      {
        requestId,
        tier: script.tier ?? 'cheap',
        score: 0.1,
        reasons: ['short, general question'],
        model: script.model ?? 'demo:gemini-3-flash',
        inputTokens,
        maxOutputTokens: 1024,
        fromCache: false,
      },
    ],
    ...words.map((word): [ChatEventName, unknown] => [
      'text-delta',
      { text: word },
    ]),
    [
      'usage',
      {
        inputTokens,
        cachedInputTokens: 0,
        outputTokens,
        charged: script.charged ?? inputTokens + outputTokens,
        weight: 1,
        estimated: false,
        remaining: script.remaining ?? 1000 - inputTokens - outputTokens,
        costUsd: 0.00001,
      },
    ],
    ['done', { requestId, finishReason: script.finishReason ?? 'stop' }],
  ];
}

/** Builds a usage response from defaults and the given figures. */
export function usageFigures(
  overrides: Partial<UsageResponse> = {},
): UsageResponse {
  return {
    installId: 'install-1',
    plan: 'free',
    allowance: 1000,
    used: 0,
    reserved: 0,
    remaining: 1000,
    premiumWeight: 5,
    periodStart: '2026-01-01T00:00:00.000Z',
    resetAt: '2026-02-01T00:00:00.000Z',
    daily: [],
    ...overrides,
  };
}

/** Starts the server on a free port of 127.0.0.1. */
export async function startProtocolServer(): Promise<ProtocolServer> {
  const queue: ChatStep[] = [];
  const disconnectWaiters: Array<() => void> = [];
  let tokenCounter = 0;

  const state: Omit<
    ProtocolServer,
    'url' | 'enqueueChat' | 'nextClientDisconnect' | 'close'
  > = {
    registrations: 0,
    registrationAuthorizations: [],
    chatRequests: [],
    usageRequests: 0,
    usage: usageFigures(),
    validTokens: new Set<string>(),
    rejectAllTokens: false,
    rejectedAuthorizations: [],
  };

  const server: Server = createServer((request, response) => {
    void (async () => {
      const body = await readBody(request);
      const path = request.url ?? '/';

      if (request.method === 'POST' && path === '/v1/installs') {
        state.registrations++;
        state.registrationAuthorizations.push(request.headers.authorization);
        tokenCounter++;
        const token = `token-${tokenCounter}`;
        state.validTokens.add(token);
        sendJson(response, 200, {
          installId: `install-${tokenCounter}`,
          token,
          expiresAt: '2099-01-01T00:00:00.000Z',
        });
        return;
      }

      const authorization = request.headers.authorization;
      const token = authorization?.replace(/^Bearer /, '');
      if (!token || !state.validTokens.has(token) || state.rejectAllTokens) {
        state.rejectedAuthorizations.push(authorization);
        sendJson(response, 401, {
          error: {
            code: 'unauthorized',
            message: 'The install token is missing or invalid; register again.',
          },
        });
        return;
      }

      if (request.method === 'GET' && path === '/v1/usage') {
        state.usageRequests++;
        sendJson(response, 200, state.usage);
        return;
      }

      if (request.method === 'POST' && path === '/v1/chat') {
        state.chatRequests.push({
          authorization,
          body: JSON.parse(body) as ChatRequest,
        });
        const step = queue.shift() ?? {
          type: 'stream',
          chunks: [encodeEvents(answerEvents())],
        };
        if (step.type === 'status') {
          response.writeHead(step.status, {
            'content-type': 'application/json',
            ...step.headers,
          });
          response.end(
            typeof step.body === 'string'
              ? step.body
              : JSON.stringify(step.body),
          );
          return;
        }

        response.writeHead(200, {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-cache',
        });
        response.flushHeaders();
        if (step.hold) {
          response.once('close', () => disconnectWaiters.shift()?.());
        }
        for (const chunk of step.chunks) {
          response.write(chunk);
          // A pause between writes makes the client likely to read each
          // chunk on its own, although TCP may still merge them.
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
        if (!step.hold) {
          response.end();
        }
        return;
      }

      sendJson(response, 404, {
        error: {
          code: 'not_found',
          message: `No route for ${request.method} ${path}.`,
        },
      });
    })();
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    enqueueChat(step: ChatStep) {
      queue.push(step);
    },
    nextClientDisconnect() {
      return new Promise<void>((resolve) => disconnectWaiters.push(resolve));
    },
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
    },
  });
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => resolve(body));
    request.on('error', reject);
  });
}

function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}
