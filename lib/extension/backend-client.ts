/**
 * The extension's client of the Tokenwise backend: registration, the chat
 * stream and usage. Only the background service worker uses it.
 */
import {
  chatEventSchemas,
  deleteInstallResponseSchema,
  errorBodySchema,
  registerInstallResponseSchema,
  usageResponseSchema,
  type ChatEvent,
  type ChatEventName,
  type ChatRequest,
  type DeleteInstallResponse,
  type ErrorCode,
  type UsageResponse,
} from '../protocol';
import type { z } from 'zod';
import { readSseStream, type SseMessage } from '../sse';
import { BackendError, isAbortError, isBackendError } from './backend-error';
import type { AnswerErrorCode } from './database';
import { debugLog } from './debug-log';
import { readInstall, writeInstall, type InstallRecord } from './install-store';

/** Time allowed for the response headers of any request: 15 seconds. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 15_000;

// A token this close to its expiry is renewed before use.
const TOKEN_RENEWAL_MARGIN_MS = 60_000;

// Codes that an HTTP status implies when the body is not a protocol error.
const CODES_BY_STATUS: Record<number, ErrorCode> = {
  400: 'invalid_request',
  401: 'unauthorized',
  402: 'allowance_exhausted',
  404: 'not_found',
  413: 'prompt_too_large',
  429: 'rate_limited',
  500: 'internal_error',
  502: 'upstream_failed',
  504: 'upstream_timeout',
};

interface BackendRequest {
  method: 'GET' | 'POST' | 'DELETE';
  headers?: Record<string, string>;
  body?: string;
}

export interface BackendClientOptions {
  /** Backend URL without a trailing slash, e.g. http://127.0.0.1:8787. */
  baseUrl: string;
  /** Sent with the registration, for the backend's statistics. */
  extensionVersion?: string;
  browserName?: string;
  /** Milliseconds to wait for response headers before giving up. */
  requestTimeoutMs?: number;
  fetch?: typeof fetch;
}

/**
 * Client of the backend. It registers the install when no valid token is
 * stored, and registers again once when the backend rejects the token with
 * 401. Every failure is thrown as a BackendError, except that an aborted
 * call rethrows the abort error.
 */
export class BackendClient {
  readonly baseUrl: string;
  private readonly extensionVersion: string | undefined;
  private readonly browserName: string | undefined;
  private readonly requestTimeoutMs: number;
  private readonly fetchFunction: typeof fetch;
  private registration: Promise<InstallRecord> | undefined;

  constructor(options: BackendClientOptions) {
    this.baseUrl = options.baseUrl;
    this.extensionVersion = options.extensionVersion;
    this.browserName = options.browserName;
    this.requestTimeoutMs =
      options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.fetchFunction = options.fetch ?? ((...args) => fetch(...args));
  }

  /**
   * Returns the stored registration, registering first when there is none,
   * when it belongs to another backend or when its token is about to expire.
   */
  async ensureInstall(signal?: AbortSignal): Promise<InstallRecord> {
    const stored = await readInstall();
    if (stored && this.isUsable(stored)) {
      return stored;
    }
    return this.register(signal);
  }

  /**
   * Registers this install with `POST /v1/installs` and stores the token.
   * Concurrent calls share one registration.
   */
  register(signal?: AbortSignal): Promise<InstallRecord> {
    this.registration ??= this.sendRegistration(signal).finally(() => {
      this.registration = undefined;
    });
    return this.registration;
  }

  /**
   * Streams an answer from `POST /v1/chat`, yielding each protocol event up
   * to and including `done` or `error`. Events with unknown names are
   * skipped, so a newer backend can add some. Throws `stream_interrupted`
   * when the stream ends before `done` or `error`.
   */
  async *streamChat(
    request: ChatRequest,
    signal?: AbortSignal,
  ): AsyncGenerator<ChatEvent> {
    const response = await this.sendAuthorized(
      '/v1/chat',
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'text/event-stream',
        },
        body: JSON.stringify(request),
      },
      signal,
    );
    if (!response.ok) {
      throw await readErrorResponse(response);
    }
    const body = response.body;
    const contentType = response.headers.get('content-type') ?? '';
    if (!body || !contentType.includes('text/event-stream')) {
      await response.body?.cancel();
      throw new BackendError({
        code: 'invalid_response',
        message: `POST /v1/chat returned content type "${contentType}" instead of text/event-stream.`,
        status: response.status,
      });
    }

    try {
      for await (const message of readSseStream(body)) {
        const event = parseChatEvent(message);
        if (!event) {
          continue;
        }
        yield event;
        if (event.event === 'done' || event.event === 'error') {
          return;
        }
      }
    } catch (error) {
      if (signal?.aborted || isAbortError(error) || isBackendError(error)) {
        throw error;
      }
      throw new BackendError({
        code: 'stream_interrupted',
        message: 'The chat stream broke before the answer was finished.',
        cause: error,
      });
    } finally {
      await body.cancel().catch(() => undefined);
    }
    throw new BackendError({
      code: 'stream_interrupted',
      message: 'The chat stream ended without a done or error event.',
    });
  }

  /** Fetches the allowance and usage of this install from `GET /v1/usage`. */
  async getUsage(signal?: AbortSignal): Promise<UsageResponse> {
    const response = await this.sendAuthorized(
      '/v1/usage',
      { method: 'GET' },
      signal,
    );
    if (!response.ok) {
      throw await readErrorResponse(response);
    }
    return parseJsonResponse(response, usageResponseSchema, 'GET /v1/usage');
  }

  /**
   * Deletes this install's data on the backend with
   * `DELETE /v1/installs/me`, sending the stored token as it is, because
   * registering first would only create a new, empty install. Returns
   * undefined when no registration with this backend is stored, so the
   * backend holds nothing of this browser. Throws a BackendError when the
   * backend rejects the request, which then deleted nothing.
   */
  async deleteInstallData(
    signal?: AbortSignal,
  ): Promise<DeleteInstallResponse | undefined> {
    const stored = await readInstall();
    if (!stored || stored.backendUrl !== this.baseUrl) {
      return undefined;
    }
    const response = await this.send(
      '/v1/installs/me',
      withToken({ method: 'DELETE' }, stored.token),
      signal,
    );
    if (!response.ok) {
      throw await readErrorResponse(response);
    }
    return parseJsonResponse(
      response,
      deleteInstallResponseSchema,
      'DELETE /v1/installs/me',
    );
  }

  private isUsable(install: InstallRecord): boolean {
    const expiresAt = Date.parse(install.expiresAt);
    return (
      install.backendUrl === this.baseUrl &&
      !(expiresAt - TOKEN_RENEWAL_MARGIN_MS < Date.now())
    );
  }

  private async sendRegistration(signal?: AbortSignal): Promise<InstallRecord> {
    // Sending the old token renews the same install, so its usage and
    // allowance carry over instead of starting a new install.
    const previous = await readInstall();
    const renewal: Record<string, string> =
      previous && previous.backendUrl === this.baseUrl
        ? { authorization: `Bearer ${previous.token}` }
        : {};
    const response = await this.send(
      '/v1/installs',
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...renewal },
        body: JSON.stringify({
          extensionVersion: this.extensionVersion,
          browser: this.browserName,
        }),
      },
      signal,
    );
    if (!response.ok) {
      throw await readErrorResponse(response);
    }
    const registration = await parseJsonResponse(
      response,
      registerInstallResponseSchema,
      'POST /v1/installs',
    );
    const install: InstallRecord = {
      installId: registration.installId,
      token: registration.token,
      expiresAt: registration.expiresAt,
      backendUrl: this.baseUrl,
    };
    await writeInstall(install);
    debugLog('backend', 'registered install', {
      installId: install.installId,
    });
    return install;
  }

  /**
   * Sends a request with the install's token. On 401 it registers again,
   * unless another call already did, and repeats the request once.
   */
  private async sendAuthorized(
    path: string,
    init: BackendRequest,
    signal?: AbortSignal,
  ): Promise<Response> {
    const install = await this.ensureInstall(signal);
    const response = await this.send(
      path,
      withToken(init, install.token),
      signal,
    );
    if (response.status !== 401) {
      return response;
    }

    await response.body?.cancel();
    debugLog('backend', 'token rejected, registering again', { path });
    const renewed = await this.renewInstall(install.token, signal);
    return this.send(path, withToken(init, renewed.token), signal);
  }

  private async renewInstall(
    rejectedToken: string,
    signal?: AbortSignal,
  ): Promise<InstallRecord> {
    const stored = await readInstall();
    if (stored && stored.token !== rejectedToken && this.isUsable(stored)) {
      return stored;
    }
    return this.register(signal);
  }

  /**
   * Fetches a backend path. Gives up with `backend_timeout` when the
   * headers take longer than the request timeout, and throws
   * `backend_unreachable` when the connection fails.
   */
  private async send(
    path: string,
    init: BackendRequest,
    signal?: AbortSignal,
  ): Promise<Response> {
    const controller = new AbortController();
    const abortFromCaller = () => controller.abort(signal?.reason);
    if (signal?.aborted) {
      abortFromCaller();
    }
    signal?.addEventListener('abort', abortFromCaller, { once: true });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.requestTimeoutMs);

    const url = `${this.baseUrl}${path}`;
    try {
      return await this.fetchFunction(url, {
        ...init,
        signal: controller.signal,
      });
    } catch (error) {
      if (signal?.aborted) {
        throw error;
      }
      if (timedOut) {
        throw new BackendError({
          code: 'backend_timeout',
          message: `${init.method} ${url} sent no response within ${this.requestTimeoutMs} ms.`,
          cause: error,
        });
      }
      throw new BackendError({
        code: 'backend_unreachable',
        message: `${init.method} ${url} failed: ${describeCause(error)}.`,
        cause: error,
      });
    } finally {
      clearTimeout(timer);
    }
  }
}

function withToken(init: BackendRequest, token: string): BackendRequest {
  return {
    ...init,
    headers: { ...init.headers, authorization: `Bearer ${token}` },
  };
}

function describeCause(error: unknown): string {
  if (error instanceof Error) {
    const cause =
      error.cause instanceof Error ? `: ${error.cause.message}` : '';
    return `${error.message}${cause}`;
  }
  return String(error);
}

/** Parses one SSE message as a protocol event; undefined for unknown names. */
function parseChatEvent(message: SseMessage): ChatEvent | undefined {
  if (!Object.hasOwn(chatEventSchemas, message.event)) {
    return undefined;
  }
  const name = message.event as ChatEventName;
  let payload: unknown;
  try {
    payload = JSON.parse(message.data);
  } catch (error) {
    throw new BackendError({
      code: 'invalid_response',
      message: `The "${name}" event's data is not JSON.`,
      cause: error,
    });
  }
  const parsed = chatEventSchemas[name].safeParse(payload);
  if (!parsed.success) {
    throw new BackendError({
      code: 'invalid_response',
      message: `The "${name}" event does not match the protocol: ${parsed.error.message}`,
      cause: parsed.error,
    });
  }
  return { event: name, data: parsed.data } as ChatEvent;
}

async function parseJsonResponse<T>(
  response: Response,
  schema: z.ZodType<T>,
  endpoint: string,
): Promise<T> {
  let payload: unknown;
  try {
    payload = await response.json();
  } catch (error) {
    throw new BackendError({
      code: 'invalid_response',
      message: `${endpoint} returned a body that is not JSON.`,
      status: response.status,
      cause: error,
    });
  }
  const parsed = schema.safeParse(payload);
  if (!parsed.success) {
    throw new BackendError({
      code: 'invalid_response',
      message: `${endpoint} returned a body that does not match the protocol: ${parsed.error.message}`,
      status: response.status,
      cause: parsed.error,
    });
  }
  return parsed.data;
}

/** Turns a non-2xx response into a BackendError with the protocol's code. */
async function readErrorResponse(response: Response): Promise<BackendError> {
  const retryAfterHeader = Number(response.headers.get('retry-after'));
  const retryAfterSeconds =
    Number.isFinite(retryAfterHeader) && retryAfterHeader > 0
      ? retryAfterHeader
      : undefined;

  let payload: unknown;
  try {
    payload = await response.json();
  } catch {
    payload = undefined;
  }
  const parsed = errorBodySchema.safeParse(payload);
  if (parsed.success) {
    const { error } = parsed.data;
    return new BackendError({
      code: error.code,
      message: error.message,
      status: response.status,
      resetAt: error.resetAt,
      retryAfterSeconds: error.retryAfterSeconds ?? retryAfterSeconds,
      remaining: error.remaining,
      field: error.field,
    });
  }

  const code: AnswerErrorCode =
    CODES_BY_STATUS[response.status] ??
    (response.status >= 500 ? 'internal_error' : 'invalid_response');
  return new BackendError({
    code,
    message: `The backend returned HTTP ${response.status} without a protocol error body.`,
    status: response.status,
    retryAfterSeconds,
  });
}
