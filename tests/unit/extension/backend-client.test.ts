import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fakeBrowser } from 'wxt/testing';
import { BackendClient } from '../../../lib/extension/backend-client';
import {
  BackendError,
  isBackendError,
} from '../../../lib/extension/backend-error';
import { describeError } from '../../../lib/extension/error-messages';
import {
  readInstall,
  writeInstall,
} from '../../../lib/extension/install-store';
import type { ChatEvent } from '../../../lib/protocol';
import {
  DEFAULT_ANSWER_TEXT,
  answerEvents,
  encodeEvents,
  splitBytes,
  startProtocolServer,
  usageFigures,
  type ProtocolServer,
} from './support/protocol-server';

const QUESTION = { question: 'What is the capital of France?' };

async function collect(events: AsyncIterable<ChatEvent>): Promise<ChatEvent[]> {
  const collected: ChatEvent[] = [];
  for await (const event of events) {
    collected.push(event);
  }
  return collected;
}

async function failureOf(promise: Promise<unknown>): Promise<BackendError> {
  try {
    await promise;
  } catch (error) {
    expect(isBackendError(error)).toBe(true);
    return error as BackendError;
  }
  throw new Error('expected the call to fail');
}

describe('BackendClient', () => {
  let server: ProtocolServer;
  let client: BackendClient;

  beforeEach(async () => {
    fakeBrowser.reset();
    server = await startProtocolServer();
    client = new BackendClient({
      baseUrl: server.url,
      extensionVersion: '0.1.0',
    });
  });

  afterEach(async () => {
    await server.close();
  });

  describe('registration', () => {
    it('registers once and stores the token', async () => {
      const install = await client.ensureInstall();
      await client.ensureInstall();

      expect(server.registrations).toBe(1);
      expect(install.token).toBe('token-1');
      expect(await readInstall()).toEqual({
        installId: 'install-1',
        token: 'token-1',
        expiresAt: '2099-01-01T00:00:00.000Z',
        backendUrl: server.url,
      });
    });

    it('shares one registration between concurrent calls', async () => {
      await Promise.all([
        client.ensureInstall(),
        client.ensureInstall(),
        client.getUsage(),
      ]);
      expect(server.registrations).toBe(1);
    });

    it('registers again when the token expired', async () => {
      await writeInstall({
        installId: 'install-0',
        token: 'token-0',
        expiresAt: '2020-01-01T00:00:00.000Z',
        backendUrl: server.url,
      });
      const install = await client.ensureInstall();
      expect(install.token).toBe('token-1');
      expect(server.registrations).toBe(1);
    });

    it('sends the old token to renew the install', async () => {
      await writeInstall({
        installId: 'install-0',
        token: 'token-0',
        expiresAt: '2020-01-01T00:00:00.000Z',
        backendUrl: server.url,
      });
      await client.ensureInstall();
      expect(server.registrationAuthorizations).toEqual(['Bearer token-0']);
    });

    it('sends no token on a first registration', async () => {
      await client.ensureInstall();
      expect(server.registrationAuthorizations).toEqual([undefined]);
    });

    it('registers again for another backend', async () => {
      await writeInstall({
        installId: 'install-0',
        token: 'token-0',
        expiresAt: '2099-01-01T00:00:00.000Z',
        backendUrl: 'http://127.0.0.1:9',
      });
      expect((await client.ensureInstall()).token).toBe('token-1');
    });
  });

  describe('streamChat', () => {
    it('yields the protocol events in order', async () => {
      const events = await collect(client.streamChat(QUESTION));

      const wordCount = DEFAULT_ANSWER_TEXT.split(' ').length;
      expect(events.map((event) => event.event)).toEqual([
        'route',
        ...Array<string>(wordCount).fill('text-delta'),
        'usage',
        'done',
      ]);
      const text = events
        .map((event) => (event.event === 'text-delta' ? event.data.text : ''))
        .join('');
      expect(text).toBe(DEFAULT_ANSWER_TEXT);
    });

    it('sends the token and the request', async () => {
      await collect(
        client.streamChat({
          ...QUESTION,
          requestId: '6f1c1f3e-8d0a-4c61-9d43-2a1f9c0e7b11',
        }),
      );
      const [request] = server.chatRequests;
      expect(request?.authorization).toBe('Bearer token-1');
      expect(request?.body.question).toBe(QUESTION.question);
      expect(request?.body.requestId).toBe(
        '6f1c1f3e-8d0a-4c61-9d43-2a1f9c0e7b11',
      );
    });

    it('decodes events split across chunks', async () => {
      const text = 'Zürich 🇨🇭 und 東京 — ok.';
      const stream = encodeEvents(answerEvents({ text }));
      server.enqueueChat({ type: 'stream', chunks: splitBytes(stream, 3) });

      const events = await collect(client.streamChat(QUESTION));
      const received = events
        .map((event) => (event.event === 'text-delta' ? event.data.text : ''))
        .join('');
      expect(received).toBe(text);
      expect(events.at(-1)?.event).toBe('done');
    });

    it('skips events with unknown names', async () => {
      const stream =
        encodeEvents([['heartbeat', { at: 1 }]]) + encodeEvents(answerEvents());
      server.enqueueChat({ type: 'stream', chunks: [stream] });

      const events = await collect(client.streamChat(QUESTION));
      expect(events.map((event) => event.event)).not.toContain('heartbeat');
      expect(events.at(-1)?.event).toBe('done');
    });

    it('stops at an error event', async () => {
      const stream = encodeEvents([
        ...answerEvents().slice(0, 2),
        ['error', { code: 'upstream_failed', message: 'The provider failed.' }],
        ['text-delta', { text: 'after the error' }],
      ]);
      server.enqueueChat({ type: 'stream', chunks: [stream] });

      const events = await collect(client.streamChat(QUESTION));
      expect(events.map((event) => event.event)).toEqual([
        'route',
        'text-delta',
        'error',
      ]);
    });

    it('reports a stream that ends early', async () => {
      const stream = encodeEvents(answerEvents().slice(0, 3));
      server.enqueueChat({ type: 'stream', chunks: [stream] });

      const error = await failureOf(collect(client.streamChat(QUESTION)));
      expect(error.code).toBe('stream_interrupted');
    });

    it('rejects an event that breaks the protocol', async () => {
      const stream = encodeEvents([['route', { tier: 'gold' }]]);
      server.enqueueChat({ type: 'stream', chunks: [stream] });

      const error = await failureOf(collect(client.streamChat(QUESTION)));
      expect(error.code).toBe('invalid_response');
      expect(error.message).toContain('"route" event');
    });

    it('rejects a non-stream response', async () => {
      server.enqueueChat({ type: 'status', status: 200, body: { ok: true } });
      const error = await failureOf(collect(client.streamChat(QUESTION)));
      expect(error.code).toBe('invalid_response');
    });

    it('stops reading when aborted', async () => {
      server.enqueueChat({
        type: 'stream',
        chunks: [encodeEvents(answerEvents().slice(0, 2))],
        hold: true,
      });
      const disconnected = server.nextClientDisconnect();
      const controller = new AbortController();
      const events: ChatEvent[] = [];

      let caught: unknown;
      try {
        for await (const event of client.streamChat(
          QUESTION,
          controller.signal,
        )) {
          events.push(event);
          if (event.event === 'text-delta') {
            controller.abort();
          }
        }
      } catch (error) {
        caught = error;
      }

      await disconnected;
      expect(events.map((event) => event.event)).toEqual([
        'route',
        'text-delta',
      ]);
      expect(isBackendError(caught)).toBe(false);
      expect((caught as Error).name).toBe('AbortError');
    });
  });

  describe('401', () => {
    it('registers again once and repeats the request', async () => {
      await client.ensureInstall();
      server.validTokens.clear();

      const events = await collect(client.streamChat(QUESTION));
      expect(events.at(-1)?.event).toBe('done');
      expect(server.registrations).toBe(2);
      expect(server.rejectedAuthorizations).toEqual(['Bearer token-1']);
      expect(
        server.chatRequests.map((request) => request.authorization),
      ).toEqual(['Bearer token-2']);
      expect((await readInstall())?.token).toBe('token-2');
    });

    it('gives up after one registration', async () => {
      await client.ensureInstall();
      server.rejectAllTokens = true;

      const error = await failureOf(client.getUsage());
      expect(error.code).toBe('unauthorized');
      expect(error.status).toBe(401);
      expect(server.registrations).toBe(2);
      expect(server.rejectedAuthorizations).toEqual([
        'Bearer token-1',
        'Bearer token-2',
      ]);
    });
  });

  describe('error responses', () => {
    it('turns a 402 into the allowance message', async () => {
      server.enqueueChat({
        type: 'status',
        status: 402,
        body: {
          error: {
            code: 'allowance_exhausted',
            message: 'The free allowance is used up.',
            resetAt: '2026-02-01T00:00:00.000Z',
          },
        },
      });

      const error = await failureOf(collect(client.streamChat(QUESTION)));
      expect(error.code).toBe('allowance_exhausted');
      expect(error.status).toBe(402);
      expect(error.resetAt).toBe('2026-02-01T00:00:00.000Z');
      expect(
        describeError(error, {
          backendUrl: server.url,
          locale: 'en-US',
          timeZone: 'UTC',
        }),
      ).toBe(
        'You have used all your free tokens for this period. Your allowance resets on Feb 1, 2026, 12:00 AM.',
      );
    });

    it.each([
      [400, 'invalid_request'],
      [402, 'allowance_exhausted'],
      [413, 'prompt_too_large'],
      [429, 'rate_limited'],
      [500, 'internal_error'],
      [503, 'internal_error'],
      [418, 'invalid_response'],
    ])('maps a bare %i to %s', async (status, code) => {
      server.enqueueChat({ type: 'status', status, body: 'not json' });
      const error = await failureOf(collect(client.streamChat(QUESTION)));
      expect(error.code).toBe(code);
      expect(error.status).toBe(status);
    });

    it('reads Retry-After on a 429', async () => {
      server.enqueueChat({
        type: 'status',
        status: 429,
        headers: { 'retry-after': '12' },
        body: { error: { code: 'rate_limited', message: 'Slow down.' } },
      });
      const error = await failureOf(collect(client.streamChat(QUESTION)));
      expect(error.retryAfterSeconds).toBe(12);
    });
  });

  describe('getUsage', () => {
    it('returns the usage figures', async () => {
      server.usage = usageFigures({ used: 42, remaining: 958 });
      const usage = await client.getUsage();
      expect(usage.used).toBe(42);
      expect(usage.remaining).toBe(958);
      expect(server.usageRequests).toBe(1);
    });

    it('rejects figures that break the protocol', async () => {
      server.usage = { ...usageFigures(), remaining: -1 };
      const error = await failureOf(client.getUsage());
      expect(error.code).toBe('invalid_response');
    });
  });
});

describe('BackendClient without a backend', () => {
  beforeEach(() => {
    fakeBrowser.reset();
  });

  it('reports an unreachable backend', async () => {
    const closed = await startProtocolServer();
    await closed.close();
    const client = new BackendClient({ baseUrl: closed.url });

    const error = await failureOf(client.getUsage());
    expect(error.code).toBe('backend_unreachable');
    expect(error.message).toContain(`${closed.url}/v1/installs`);
    expect(describeError(error, { backendUrl: closed.url })).toBe(
      `Cannot reach the Tokenwise server at ${closed.url}. Check your connection and that the server is running, then try again.`,
    );
  });

  it('gives up on a backend that never responds', async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) =>
      silent.listen(0, '127.0.0.1', resolve),
    );
    const { port } = silent.address() as AddressInfo;
    const client = new BackendClient({
      baseUrl: `http://127.0.0.1:${port}`,
      requestTimeoutMs: 100,
    });

    const error = await failureOf(client.ensureInstall());
    silent.closeAllConnections();
    silent.close();
    expect(error.code).toBe('backend_timeout');
  });
});
