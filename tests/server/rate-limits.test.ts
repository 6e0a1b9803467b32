/**
 * Rate limits on a real backend, once with the in-memory limiter and once
 * with the Redis one: chats per minute and tokens per minute per install,
 * registrations per hour per client address, each answered with 429,
 * Retry-After and the RateLimit-* headers. The limiters themselves are
 * also checked with an injected clock.
 */
import { createServer, type AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../server/logger';
import { MemoryRateLimiter, RedisRateLimiter } from '../../server/limits/index';
import type { RateLimiter } from '../../server/limits/index';
import { buildPrompt } from '../../server/prompt';
import { startFakeProvider, type FakeProvider } from '../fake-provider/index';
import {
  createTestRedisPrefix,
  TEST_REDIS_URL,
  type TestRedisPrefix,
} from './databases';
import {
  createCapturingLogger,
  createTempDirectory,
  postChat,
  readChatEvents,
  readErrorBody,
  registerInstall,
  startTestBackend,
  type TestBackend,
} from './helpers';

const QUESTION = 'What is the tallest mountain in Europe?';

let temp: ReturnType<typeof createTempDirectory>;
let fake: FakeProvider;
let backend: TestBackend | undefined;
let redisPrefix: TestRedisPrefix;

beforeEach(async () => {
  temp = createTempDirectory();
  fake = await startFakeProvider();
  redisPrefix = createTestRedisPrefix();
});

afterEach(async () => {
  await backend?.stop({ drainTimeoutMs: 1_000 });
  backend = undefined;
  await fake.close();
  await redisPrefix.clear();
  temp.remove();
});

describe.each([
  { name: 'memory', useRedis: false },
  { name: 'Redis', useRedis: true },
])('$name limiter on the backend', ({ useRedis }) => {
  function start(env: Record<string, string>): Promise<TestBackend> {
    return startTestBackend(temp.directory, {
      OPENAI_API_KEY: 'test-openai-key',
      OPENAI_BASE_URL: fake.openaiBaseUrl,
      TOKENWISE_CHEAP_MODEL: 'openai:gpt-5-mini',
      TOKENWISE_CACHE_TTL_SECONDS: '0',
      ...(useRedis
        ? {
            TOKENWISE_REDIS_URL: TEST_REDIS_URL,
            TOKENWISE_REDIS_KEY_PREFIX: redisPrefix.prefix,
          }
        : {}),
      ...env,
    });
  }

  async function ask(token: string): Promise<Response> {
    fake.enqueue({ type: 'answer', text: 'Mount Elbrus.' });
    const response = await postChat(backend!.url, token, {
      question: QUESTION,
      tier: 'cheap',
    });
    if (response.status === 200) {
      await readChatEvents(response);
    }
    return response;
  }

  it('rejects chats past the per-minute limit', async () => {
    backend = await start({ TOKENWISE_REQUESTS_PER_MINUTE: '3' });
    const install = await registerInstall(backend.url);

    const responses: Response[] = [];
    for (let index = 0; index < 5; index++) {
      responses.push(await ask(install.token));
    }

    expect(responses.map((response) => response.status)).toEqual([
      200, 200, 200, 429, 429,
    ]);
    expect(responses[0]?.headers.get('ratelimit-limit')).toBe('3');
    expect(responses[0]?.headers.get('ratelimit-remaining')).toBe('2');
    expect(responses[2]?.headers.get('ratelimit-remaining')).toBe('0');
    const rejected = responses[3] as Response;
    const retryAfter = Number(rejected.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(rejected.headers.get('ratelimit-limit')).toBe('3');
    expect(rejected.headers.get('ratelimit-remaining')).toBe('0');
    expect(rejected.headers.get('ratelimit-reset')).toBe(String(retryAfter));
    expect(rejected.headers.get('ratelimit-policy')).toBe('3;w=60');
    const body = await readErrorBody(rejected);
    expect(body.error.code).toBe('rate_limited');
    expect(body.error.retryAfterSeconds).toBe(retryAfter);
    expect(body.error.message).toContain('allows 3 per minute');
    expect(body.error.message).toContain(`Try again in ${retryAfter} seconds`);
    expect(fake.requests).toHaveLength(3);
  });

  it('rejects chats past the tokens per minute', async () => {
    const inputTokens = buildPrompt({
      question: QUESTION,
      history: [],
    }).inputTokens;
    const perRequest = inputTokens + 100;
    backend = await start({
      TOKENWISE_MAX_OUTPUT_TOKENS: '100',
      TOKENWISE_TOKENS_PER_MINUTE: String(perRequest * 2),
    });
    const install = await registerInstall(backend.url);

    const statuses: number[] = [];
    for (let index = 0; index < 3; index++) {
      statuses.push((await ask(install.token)).status);
    }
    const rejected = await ask(install.token);

    expect(statuses).toEqual([200, 200, 429]);
    expect(rejected.status).toBe(429);
    expect(rejected.headers.get('ratelimit-policy')).toBe(
      `${perRequest * 2};w=60`,
    );
    const body = await readErrorBody(rejected);
    expect(body.error.message).toContain('Too many tokens');
    const balance = await backend.store.getBalance(
      install.installId,
      new Date(),
    );
    expect(balance.reserved).toBe(0);
  });

  it('rejects registrations past the per-address limit', async () => {
    backend = await start({ TOKENWISE_REGISTRATIONS_PER_HOUR: '2' });
    const first = await registerInstall(backend.url);
    await registerInstall(backend.url);

    const third = await fetch(`${backend.url}/v1/installs`, {
      method: 'POST',
    });
    const renewal = await fetch(`${backend.url}/v1/installs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${first.token}` },
    });

    expect(third.status).toBe(429);
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(60);
    expect(third.headers.get('ratelimit-policy')).toBe('2;w=3600');
    const body = await readErrorBody(third);
    expect(body.error.code).toBe('rate_limited');
    expect(body.error.message).toContain('registers 2 per hour');
    expect(renewal.status).toBe(200);
  });

  it.each([
    { trustProxy: 'true', expected: [201, 201, 429] },
    { trustProxy: 'false', expected: [201, 429, 429] },
  ])(
    'reads X-Forwarded-For when trust is $trustProxy',
    async ({ trustProxy, expected }) => {
      backend = await start({
        TOKENWISE_REGISTRATIONS_PER_HOUR: '1',
        TOKENWISE_TRUST_PROXY: trustProxy,
      });

      const statuses: number[] = [];
      for (const forwardedFor of [
        '198.51.100.1',
        '203.0.113.9, 198.51.100.2',
        '203.0.113.9, 198.51.100.2',
      ]) {
        const response = await fetch(`${backend.url}/v1/installs`, {
          method: 'POST',
          headers: { 'x-forwarded-for': forwardedFor },
        });
        statuses.push(response.status);
      }

      expect(statuses).toEqual(expected);
    },
  );
});

describe('RedisRateLimiter without Redis', () => {
  it('lets requests pass and logs', async () => {
    // A server that drops every connection stands in for a Redis that is down.
    const dropping = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) =>
      dropping.listen(0, '127.0.0.1', resolve),
    );
    const { port } = dropping.address() as AddressInfo;
    const logs = createCapturingLogger();
    const redis = new Redis(`redis://127.0.0.1:${port}`, {
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => null,
    });
    redis.on('error', () => undefined);
    const limiter = new RedisRateLimiter(
      redis,
      redisPrefix.prefix,
      logs.logger,
    );
    try {
      const decision = await limiter.consume({
        key: 'registrations:192.0.2.1',
        limit: 1,
        cost: 1,
        windowMs: 60_000,
        now: new Date(),
      });

      expect(decision.allowed).toBe(true);
      expect(logs.lines.map((line) => line.msg)).toContain(
        'rate limit check failed, so the request passes unlimited',
      );
    } finally {
      await limiter.close();
      dropping.close();
    }
  });
});

describe.each([
  { name: 'MemoryRateLimiter', useRedis: false },
  { name: 'RedisRateLimiter', useRedis: true },
])('$name', ({ useRedis }) => {
  let limiter: RateLimiter;

  beforeEach(() => {
    limiter = useRedis
      ? new RedisRateLimiter(
          new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 }),
          redisPrefix.prefix,
          createLogger({ level: 'silent' }),
        )
      : new MemoryRateLimiter();
  });

  afterEach(async () => {
    await limiter.close();
  });

  const request = (now: string, cost = 1) => ({
    key: 'chat-requests:install-1',
    limit: 10,
    cost,
    windowMs: 60_000,
    now: new Date(now),
  });

  it('restarts the count with the next window', async () => {
    const first = await limiter.consume(request('2025-02-10T10:00:05Z', 10));
    const full = await limiter.consume(request('2025-02-10T10:00:59.999Z'));
    const next = await limiter.consume(request('2025-02-10T10:01:00Z'));

    expect(first).toMatchObject({ allowed: true, remaining: 0 });
    expect(full).toMatchObject({ allowed: false, remaining: 0, resetMs: 1 });
    expect(next).toMatchObject({ allowed: true, remaining: 9 });
    expect(next.resetMs).toBe(60_000);
  });

  it('lets one large request past the limit', async () => {
    const first = await limiter.consume(request('2025-02-10T10:00:00Z', 4));
    const large = await limiter.consume(request('2025-02-10T10:00:01Z', 50));
    const after = await limiter.consume(request('2025-02-10T10:00:02Z'));

    expect(first.allowed).toBe(true);
    expect(large).toMatchObject({ allowed: true, remaining: 0 });
    expect(after.allowed).toBe(false);
  });

  it('allows exactly the limit under concurrency', async () => {
    const decisions = await Promise.all(
      Array.from({ length: 50 }, () =>
        limiter.consume(request('2025-02-10T10:00:00Z')),
      ),
    );

    expect(decisions.filter((decision) => decision.allowed)).toHaveLength(10);
  });
});
