/**
 * The body size limit over real HTTP (@hono/node-server on 127.0.0.1) and
 * in-process: a Content-Length at the limit passes and one byte over is
 * rejected, and a chunked body is counted as it streams.
 */
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBodyLimit } from '../../server/http/body-limit';
import type { AppEnv } from '../../server/http/context';

const MAX_SIZE = 64;

function createTestApp(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use(
    createBodyLimit({
      maxSize: MAX_SIZE,
      onError: (context) => context.json({ error: 'too large' }, 413),
    }),
  );
  app.post('/echo', async (context) => context.text(await context.req.text()));
  return app;
}

function chunkedBody(text: string): ReadableStream<Uint8Array> {
  // One byte per chunk, so the body has no Content-Length.
  const bytes = [...Buffer.from(text)].map((byte) => Buffer.from([byte]));
  return Readable.toWeb(Readable.from(bytes)) as ReadableStream<Uint8Array>;
}

describe('body limit over HTTP', () => {
  let server: ServerType;
  let url: string;

  beforeAll(async () => {
    const app = createTestApp();
    await new Promise<void>((resolve) => {
      server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () =>
        resolve(),
      );
    });
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it.each([
    ['at the limit', MAX_SIZE, 200],
    ['one byte over', MAX_SIZE + 1, 413],
    ['far over', MAX_SIZE * 100, 413],
    ['empty', 0, 200],
  ])('Content-Length %s', async (_name, size, status) => {
    const body = 'b'.repeat(size);

    const response = await fetch(`${url}/echo`, { method: 'POST', body });

    expect(response.status).toBe(status);
    if (status === 200) {
      expect(await response.text()).toBe(body);
    } else {
      expect(await response.json()).toEqual({ error: 'too large' });
    }
  });

  it.each([
    ['at the limit', MAX_SIZE, 200],
    ['one byte over', MAX_SIZE + 1, 413],
  ])('chunked body %s', async (_name, size, status) => {
    const body = 'c'.repeat(size);

    const response = await fetch(`${url}/echo`, {
      method: 'POST',
      body: chunkedBody(body),
      duplex: 'half',
    } as RequestInit);

    expect(response.status).toBe(status);
    if (status === 200) {
      expect(await response.text()).toBe(body);
    }
  });
});

describe('body limit in process', () => {
  it.each([
    ['at the limit', MAX_SIZE, 200],
    ['one byte over', MAX_SIZE + 1, 413],
  ])('body %s', async (_name, size, status) => {
    const app = createTestApp();

    const response = await app.request('/echo', {
      method: 'POST',
      body: 'd'.repeat(size),
    });

    expect(response.status).toBe(status);
  });
});
