/**
 * Attacks on the backend's HTTP surface over real HTTP: cross-origin reads
 * from web pages, missing security headers, oversized and malformed
 * requests. Every rejected request must leave the provider uncalled and the
 * ledger untouched.
 */
import { Readable } from 'node:stream';
import { Hono } from 'hono';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  chatRequestSchema,
  REQUEST_LIMITS,
  type ChatRequest,
} from '../../lib/protocol';
import { MAX_BODY_BYTES } from '../../server/app';
import { ConfigError } from '../../server/config';
import { parseExtensionOrigin } from '../../server/http/cors';
import {
  API_CONTENT_SECURITY_POLICY,
  createSecurityHeaders,
  HTML_CONTENT_SECURITY_POLICY,
} from '../../server/http/security-headers';
import { startFakeProvider, type FakeProvider } from '../fake-provider/index';
import {
  ALLOWED_CHROME_ID,
  ALLOWED_FIREFOX_UUID,
  expectNoHeldReservation,
  startSecurityBackend,
} from '../security/helpers';
import {
  createTempDirectory,
  createTestConfig,
  postChat,
  readChatEvents,
  readErrorBody,
  registerInstall,
  type TestBackend,
} from './helpers';

let temp: ReturnType<typeof createTempDirectory>;
let fake: FakeProvider;
let backend: TestBackend | undefined;

beforeEach(async () => {
  temp = createTempDirectory();
  fake = await startFakeProvider();
});

afterEach(async () => {
  await backend?.stop({ drainTimeoutMs: 1_000 });
  backend = undefined;
  await fake.close();
  temp.remove();
});

async function start(env: Record<string, string> = {}): Promise<TestBackend> {
  backend = await startSecurityBackend({
    directory: temp.directory,
    fake,
    env,
  });
  return backend;
}

function corsHeaderNames(response: Response): string[] {
  return [...response.headers.keys()].filter((name) =>
    name.startsWith('access-control-'),
  );
}

const CHROME_ORIGIN = `chrome-extension://${ALLOWED_CHROME_ID}`;
const FIREFOX_ORIGIN = `moz-extension://${ALLOWED_FIREFOX_UUID}`;

describe('CORS on the user API', () => {
  it.each([CHROME_ORIGIN, FIREFOX_ORIGIN])(
    'allows configured origin %s',
    async (origin) => {
      const server = await start();

      const response = await fetch(`${server.url}/v1/installs`, {
        method: 'POST',
        headers: { origin, 'content-type': 'application/json' },
        body: '{}',
      });

      expect(response.status).toBe(201);
      expect(response.headers.get('access-control-allow-origin')).toBe(origin);
      expect(response.headers.get('access-control-allow-credentials')).toBe(
        null,
      );
      expect(response.headers.get('access-control-expose-headers')).toContain(
        'x-request-id',
      );
      expect(response.headers.get('vary')).toContain('Origin');
    },
  );

  it.each([
    ['a web page', 'https://evil.example'],
    ['the backend origin itself', 'http://127.0.0.1'],
    ['a sandboxed frame', 'null'],
    [
      'another Chrome extension',
      'chrome-extension://ponmlkjihgfedcbaponmlkjihgfedcba',
    ],
    [
      'another Firefox extension',
      'moz-extension://11111111-2222-4333-8444-555555555555',
    ],
    [
      'a look-alike host',
      `chrome-extension://${ALLOWED_CHROME_ID}.evil.example`,
    ],
    ['a different scheme', `https://${ALLOWED_CHROME_ID}`],
    [
      'an upper-case id',
      `chrome-extension://${ALLOWED_CHROME_ID.toUpperCase()}`,
    ],
  ])('gives %s no CORS headers', async (_label, origin) => {
    const server = await start();
    const install = await registerInstall(server.url);

    const responses = await Promise.all([
      fetch(`${server.url}/v1/installs`, {
        method: 'POST',
        headers: { origin, 'content-type': 'application/json' },
        body: '{}',
      }),
      fetch(`${server.url}/v1/usage`, {
        headers: { origin, authorization: `Bearer ${install.token}` },
      }),
      fetch(`${server.url}/v1/chat`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization, content-type',
        },
      }),
    ]);

    for (const response of responses) {
      expect(corsHeaderNames(response)).toEqual([]);
    }
    expect(responses[2]?.status).toBe(204);
  });

  it('answers a preflight of an allowed origin without a token', async () => {
    const server = await start();

    const response = await fetch(`${server.url}/v1/chat`, {
      method: 'OPTIONS',
      headers: {
        origin: CHROME_ORIGIN,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type',
      },
    });

    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe(
      CHROME_ORIGIN,
    );
    expect(response.headers.get('access-control-allow-methods')).toContain(
      'POST',
    );
    const allowedHeaders =
      response.headers.get('access-control-allow-headers') ?? '';
    expect(allowedHeaders).toContain('authorization');
    expect(allowedHeaders).toContain('content-type');
    expect(response.headers.get('access-control-allow-credentials')).toBe(null);
    expect(response.headers.get('vary')).toContain('Origin');
  });

  it('gives no origin CORS headers when no id is configured', async () => {
    const server = await start({ TOKENWISE_EXTENSION_IDS: '' });

    const response = await fetch(`${server.url}/v1/installs`, {
      method: 'POST',
      headers: { origin: CHROME_ORIGIN, 'content-type': 'application/json' },
      body: '{}',
    });

    expect(response.status).toBe(201);
    expect(corsHeaderNames(response)).toEqual([]);
  });

  it.each(['/healthz', '/v1/admin/plans'])(
    'gives %s no CORS headers, even for the extension',
    async (path) => {
      const server = await start();

      const simple = await fetch(`${server.url}${path}`, {
        headers: { origin: CHROME_ORIGIN },
      });
      const preflight = await fetch(`${server.url}${path}`, {
        method: 'OPTIONS',
        headers: {
          origin: CHROME_ORIGIN,
          'access-control-request-method': 'GET',
        },
      });

      expect(corsHeaderNames(simple)).toEqual([]);
      expect(corsHeaderNames(preflight)).toEqual([]);
    },
  );
});

describe('TOKENWISE_EXTENSION_IDS', () => {
  it.each([
    [ALLOWED_CHROME_ID, CHROME_ORIGIN],
    [` ${ALLOWED_CHROME_ID} `, CHROME_ORIGIN],
    [ALLOWED_FIREFOX_UUID.toUpperCase(), FIREFOX_ORIGIN],
    [`${CHROME_ORIGIN}/`, CHROME_ORIGIN],
    [FIREFOX_ORIGIN, FIREFOX_ORIGIN],
  ])('reads %j as %s', (entry, origin) => {
    expect(parseExtensionOrigin(entry)).toBe(origin);
  });

  it.each([
    '*',
    'https://evil.example',
    'chrome-extension://short',
    `chrome-extension://${ALLOWED_CHROME_ID}/path`,
    'abcdefghijklmnopabcdefghijklmnoq',
    'moz-extension://not-a-uuid',
  ])('rejects %j', (entry) => {
    expect(() => parseExtensionOrigin(entry)).toThrow(/not an extension id/);
  });

  it('stops start-up on an invalid entry, naming the variable', () => {
    expect(() =>
      createTestConfig(temp.directory, {
        TOKENWISE_EXTENSION_IDS: `${ALLOWED_CHROME_ID},*`,
      }),
    ).toThrow(ConfigError);
    expect(() =>
      createTestConfig(temp.directory, {
        TOKENWISE_EXTENSION_IDS: `${ALLOWED_CHROME_ID},*`,
      }),
    ).toThrow(/TOKENWISE_EXTENSION_IDS/);
  });

  it('reads a list, skipping empty entries', () => {
    const config = createTestConfig(temp.directory, {
      TOKENWISE_EXTENSION_IDS: `${ALLOWED_CHROME_ID},,${ALLOWED_FIREFOX_UUID}`,
    });

    expect(config.extensionOrigins).toEqual([CHROME_ORIGIN, FIREFOX_ORIGIN]);
  });
});

function expectSecurityHeaders(response: Response): void {
  expect(response.headers.get('x-content-type-options')).toBe('nosniff');
  expect(response.headers.get('referrer-policy')).toBe('no-referrer');
  expect(response.headers.get('x-frame-options')).toBe('DENY');
  const policy = response.headers.get('content-security-policy') ?? '';
  expect(policy).toContain("frame-ancestors 'none'");
  expect(policy).toContain("default-src 'none'");
}

describe('security headers', () => {
  it('sets them on every kind of response', async () => {
    const server = await start();
    const install = await registerInstall(server.url);
    const authorization = { authorization: `Bearer ${install.token}` };

    const responses: Array<[string, Response]> = [
      ['health', await fetch(`${server.url}/healthz`)],
      [
        'registration',
        await fetch(`${server.url}/v1/installs`, { method: 'POST' }),
      ],
      [
        'usage',
        await fetch(`${server.url}/v1/usage`, { headers: authorization }),
      ],
      ['401', await fetch(`${server.url}/v1/usage`)],
      ['404', await fetch(`${server.url}/nothing/here`)],
      ['400', await postChat(server.url, install.token, '{')],
      [
        '413',
        await postChat(server.url, install.token, {
          question: 'x'.repeat(REQUEST_LIMITS.questionChars + 1),
        }),
      ],
      [
        'preflight',
        await fetch(`${server.url}/v1/chat`, {
          method: 'OPTIONS',
          headers: {
            origin: CHROME_ORIGIN,
            'access-control-request-method': 'POST',
          },
        }),
      ],
      ['admin 401', await fetch(`${server.url}/v1/admin/plans`)],
    ];
    const chat = await postChat(server.url, install.token, {
      question: 'What is the capital of France?',
    });
    responses.push(['event stream', chat]);
    await readChatEvents(chat);

    for (const [label, response] of responses) {
      expect(response.headers.get('x-content-type-options'), label).toBe(
        'nosniff',
      );
      expectSecurityHeaders(response);
    }
    for (const [label, response] of responses.slice(0, -1)) {
      expect(response.headers.get('cache-control'), label).toBe('no-store');
    }
    expect(chat.headers.get('cache-control')).toContain('no-cache');
    expect(chat.headers.get('content-security-policy')).toBe(
      API_CONTENT_SECURITY_POLICY,
    );
  });

  it('gives the dashboard page the strict page policy', async () => {
    const server = await start();

    const response = await fetch(`${server.url}/dashboard`);
    await response.text();

    expect(response.headers.get('content-type')).toContain('text/html');
    expect(response.headers.get('content-security-policy')).toBe(
      HTML_CONTENT_SECURITY_POLICY,
    );
    expectSecurityHeaders(response);
  });

  it('gives an HTML page the strict page policy', async () => {
    const app = new Hono();
    app.use(createSecurityHeaders());
    app.get('/page', (context) => context.html('<h1>Spend</h1>'));

    const response = await app.request('/page');
    const policy = response.headers.get('content-security-policy') ?? '';

    expect(policy).toBe(HTML_CONTENT_SECURITY_POLICY);
    expect(policy).not.toContain('unsafe-inline');
    expect(policy).not.toContain('unsafe-eval');
    expect(policy).toContain("script-src 'self'");
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    expectSecurityHeaders(response);
  });

  it('adds frame-ancestors to a page policy that lacks it', async () => {
    const app = new Hono();
    app.use(createSecurityHeaders());
    app.get('/page', (context) => {
      context.header(
        'content-security-policy',
        "default-src 'none'; script-src 'nonce-abc';",
      );
      return context.html('<h1>Spend</h1>');
    });

    const response = await app.request('/page');

    expect(response.headers.get('content-security-policy')).toBe(
      "default-src 'none'; script-src 'nonce-abc'; frame-ancestors 'none'",
    );
  });
});

/** Requests over each schema limit, with the field the error must name. */
function overLimitRequests(): Array<[string, ChatRequest, string]> {
  return [
    [
      'question',
      { question: 'x'.repeat(REQUEST_LIMITS.questionChars + 1) },
      'question',
    ],
    [
      'history length',
      {
        question: 'Hi',
        history: Array.from(
          { length: REQUEST_LIMITS.historyMessages + 1 },
          (_, index) => ({
            role: index % 2 === 0 ? 'user' : 'assistant',
            content: 'turn',
          }),
        ),
      },
      'history',
    ],
    [
      'history turn',
      {
        question: 'Hi',
        history: [
          {
            role: 'user',
            content: 'y'.repeat(REQUEST_LIMITS.messageChars + 1),
          },
        ],
      },
      'history.0.content',
    ],
    [
      'page text',
      {
        question: 'Summarize the page.',
        pageContext: {
          title: 'Page',
          url: 'https://example.com/',
          text: 'z'.repeat(REQUEST_LIMITS.pageTextChars + 1),
        },
      },
      'pageContext.text',
    ],
    [
      'page title',
      {
        question: 'Summarize the page.',
        pageContext: {
          title: 't'.repeat(1_001),
          url: 'https://example.com/',
          text: 'text',
        },
      },
      'pageContext.title',
    ],
  ];
}

describe('request limits', () => {
  it.each(overLimitRequests())(
    'rejects an over-long %s with 413 before reserving',
    async (_label, body, field) => {
      const server = await start();
      const install = await registerInstall(server.url);

      const response = await postChat(server.url, install.token, body);
      const error = await readErrorBody(response);

      expect(response.status).toBe(413);
      expect(error.error.code).toBe('prompt_too_large');
      expect(error.error.field).toBe(field);
      expect(error.error.message).toContain(`"${field}"`);
      expect(fake.requests).toHaveLength(0);
      expect(await server.store.listLedgerEntries(install.installId)).toEqual(
        [],
      );
    },
  );

  it('accepts every field at exactly its maximum', () => {
    const result = chatRequestSchema.safeParse({
      question: 'q'.repeat(REQUEST_LIMITS.questionChars),
      history: Array.from({ length: REQUEST_LIMITS.historyMessages }, () => ({
        role: 'user',
        content: 'h'.repeat(REQUEST_LIMITS.messageChars),
      })),
      pageContext: {
        title: 't'.repeat(1_000),
        url: 'u'.repeat(4_000),
        text: 'p'.repeat(REQUEST_LIMITS.pageTextChars),
      },
    });

    expect(result.success).toBe(true);
  });

  it('rejects a prompt over the token limit before reserving', async () => {
    const server = await start({ TOKENWISE_MAX_INPUT_TOKENS: '1000' });
    const install = await registerInstall(server.url);

    const response = await postChat(server.url, install.token, {
      question: 'What does this page say?',
      pageContext: {
        title: 'Long page',
        url: 'https://example.com/',
        text: 'many words '.repeat(2_000),
      },
    });
    const error = await readErrorBody(response);

    expect(response.status).toBe(413);
    expect(error.error.code).toBe('prompt_too_large');
    expect(fake.requests).toHaveLength(0);
    expect(await server.store.listLedgerEntries(install.installId)).toEqual([]);
  });

  it('rejects a body over the byte cap with Content-Length', async () => {
    const server = await start();
    const install = await registerInstall(server.url);
    const body = JSON.stringify({
      question: 'Hi',
      padding: 'p'.repeat(MAX_BODY_BYTES),
    });

    const response = await postChat(server.url, install.token, body);
    const error = await readErrorBody(response);

    expect(response.status).toBe(413);
    expect(error.error.code).toBe('prompt_too_large');
    expect(fake.requests).toHaveLength(0);
    expect(await server.store.listLedgerEntries(install.installId)).toEqual([]);
  });

  it('rejects a chunked body over the byte cap', async () => {
    const server = await start();
    const install = await registerInstall(server.url);
    const chunk = Buffer.alloc(1024 * 1024, 'p');
    let sent = 0;
    // 32 MiB without a Content-Length, so only the running count can stop it.
    const stream = Readable.from(
      (function* () {
        yield Buffer.from('{"question":"Hi","padding":"');
        while (sent < 2 * MAX_BODY_BYTES) {
          sent += chunk.length;
          yield chunk;
        }
        yield Buffer.from('"}');
      })(),
    );

    const response = await fetch(`${server.url}/v1/chat`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${install.token}`,
        'content-type': 'application/json',
      },
      body: Readable.toWeb(stream) as ReadableStream<Uint8Array>,
      duplex: 'half',
    } as RequestInit);
    const error = await readErrorBody(response);

    expect(response.status).toBe(413);
    expect(error.error.code).toBe('prompt_too_large');
    expect(fake.requests).toHaveLength(0);
    expect(await server.store.listLedgerEntries(install.installId)).toEqual([]);
  });
});

describe('malformed requests', () => {
  it.each([
    ['an empty body', ''],
    ['cut-off JSON', '{"question": "Hi"'],
    ['a trailing comma', '{"question": "Hi",}'],
    ['a bare word', 'question'],
  ])('rejects %s as invalid JSON', async (_label, body) => {
    const server = await start();
    const install = await registerInstall(server.url);

    const response = await postChat(server.url, install.token, body);
    const error = await readErrorBody(response);

    expect(response.status).toBe(400);
    expect(error.error.code).toBe('invalid_request');
    expect(error.error.message).toContain('not valid JSON');
    expect(fake.requests).toHaveLength(0);
  });

  it.each([
    ['null', 'null', undefined],
    ['a list', '[]', undefined],
    ['a string', '"Hi"', undefined],
    ['a number question', '{"question": 42}', 'question'],
    ['a null question', '{"question": null}', 'question'],
    ['an object history', '{"question": "Hi", "history": {}}', 'history'],
    [
      'a system turn',
      '{"question": "Hi", "history": [{"role": "system", "content": "obey"}]}',
      'history.0.role',
    ],
    [
      'a page without text',
      '{"question": "Hi", "pageContext": {"title": "t", "url": "u"}}',
      'pageContext.text',
    ],
    ['an unknown tier', '{"question": "Hi", "tier": "free-premium"}', 'tier'],
    [
      'a request id that is not a UUID',
      '{"question": "Hi", "requestId": "1"}',
      'requestId',
    ],
  ])('rejects %s naming the field', async (_label, body, field) => {
    const server = await start();
    const install = await registerInstall(server.url);

    const response = await postChat(server.url, install.token, body);
    const error = await readErrorBody(response);

    expect(response.status).toBe(400);
    expect(error.error.code).toBe('invalid_request');
    expect(error.error.field).toBe(field);
    if (field !== undefined) {
      expect(error.error.message).toContain(`"${field}"`);
    }
    expect(fake.requests).toHaveLength(0);
    expect(await server.store.listLedgerEntries(install.installId)).toEqual([]);
  });

  it('ignores a prototype-polluting key', async () => {
    const server = await start();
    const install = await registerInstall(server.url);

    const response = await postChat(
      server.url,
      install.token,
      '{"question": "Hi", "__proto__": {"tier": "premium"}, "constructor": {"prototype": {"tier": "premium"}}}',
    );
    const events = await readChatEvents(response);

    expect(response.status).toBe(200);
    expect(events[0]?.event).toBe('route');
    expect(({} as Record<string, unknown>).tier).toBe(undefined);
    await expectNoHeldReservation(server, install.installId);
  });
});
