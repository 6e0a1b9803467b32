/**
 * Allowance refusals of POST /v1/chat over real HTTP, on SQLite and
 * PostgreSQL: a routed premium question that only the cheap tier can
 * afford, a premium question asked outright, questions refused only
 * because other answers still hold the tokens, and the last premium
 * answer of the plan's premium allowance.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { routeQuestion } from '../../lib/router';
import { startFakeProvider, type FakeProvider } from '../fake-provider/index';
import { createTestSchema, type TestSchema } from './databases';
import {
  createTempDirectory,
  findEvent,
  postChat,
  readChatEvents,
  readErrorBody,
  registerInstall,
  startTestBackend,
  type TestBackend,
} from './helpers';

const HARD_QUESTION =
  'Prove step by step that the algorithm below is correct:\n```\nfunction f(x) { return x; }\n```';
const WEIGHT = 5;
const MIN_OUTPUT_TOKENS = 64;

const DATABASES = [
  { name: 'SQLite', postgres: false },
  { name: 'PostgreSQL', postgres: true },
] as const;

describe.each(DATABASES)('allowance refusals on $name', ({ postgres }) => {
  let temp: ReturnType<typeof createTempDirectory>;
  let fake: FakeProvider;
  let schema: TestSchema | undefined;
  let backend: TestBackend | undefined;

  beforeEach(async () => {
    temp = createTempDirectory();
    fake = await startFakeProvider();
    schema = postgres ? createTestSchema() : undefined;
  });

  afterEach(async () => {
    await backend?.stop({ drainTimeoutMs: 1_000 });
    backend = undefined;
    await fake.close();
    await schema?.drop();
    temp.remove();
  });

  async function start(env: Record<string, string>): Promise<TestBackend> {
    backend = await startTestBackend(temp.directory, {
      OPENAI_API_KEY: 'test-openai-key',
      OPENAI_BASE_URL: fake.openaiBaseUrl,
      TOKENWISE_CHEAP_MODEL: 'openai:gpt-5-mini',
      TOKENWISE_PREMIUM_MODEL: 'openai:gpt-5.5',
      TOKENWISE_PREMIUM_WEIGHT: String(WEIGHT),
      TOKENWISE_FREE_PREMIUM_TOKENS: 'unlimited',
      TOKENWISE_CACHE_TTL_SECONDS: '0',
      ...env,
      ...(schema ? { TOKENWISE_DATABASE_URL: schema.url } : {}),
    });
    return backend;
  }

  async function reserveEntries(server: TestBackend, installId: string) {
    const entries = await server.store.listLedgerEntries(installId);
    return entries.filter((entry) => entry.kind === 'reserve');
  }

  it('moves a routed premium question to cheap', async () => {
    expect(routeQuestion({ question: HARD_QUESTION, history: [] }).tier).toBe(
      'premium',
    );
    // The prompt is about 130 tokens, so the smallest premium answer
    // needs about 5 × (130 + 64) = 970 tokens and the smallest cheap one
    // about 190.
    const server = await start({ TOKENWISE_FREE_TOKENS: '300' });
    const install = await registerInstall(server.url);
    fake.enqueue({ type: 'answer', text: 'A cheap answer.' });

    const response = await postChat(server.url, install.token, {
      question: HARD_QUESTION,
      tier: 'auto',
    });

    expect(response.status).toBe(200);
    const route = findEvent(await readChatEvents(response), 'route');
    expect(route.tier).toBe('cheap');
    expect(route.reasons.at(-1)).toMatch(
      /^premium needs more tokens than remain: at least \d+, and 300 remain$/,
    );
    const [reserve] = await reserveEntries(server, install.installId);
    expect(reserve?.tier).toBe('cheap');
    expect(reserve?.weight).toBe(1);
  });

  it('rejects premium asked outright with the balance', async () => {
    const server = await start({ TOKENWISE_FREE_TOKENS: '300' });
    const install = await registerInstall(server.url);

    const response = await postChat(server.url, install.token, {
      question: HARD_QUESTION,
      tier: 'premium',
    });

    expect(response.status).toBe(402);
    const body = await readErrorBody(response);
    expect(body.error.code).toBe('allowance_exhausted');
    expect(body.error.remaining).toBe(300);
    expect(body.error.message).toMatch(
      /^This premium question needs at least \d+ allowance tokens and 300 remain; the allowance resets at .+\. Ask with the cheap model/,
    );
    expect(body.error.message).not.toContain('used up');
    expect(body.error.resetAt).toBeDefined();
    expect(fake.requests).toHaveLength(0);
  });

  it('answers 429 while open reservations hold the tokens', async () => {
    // The slow answer holds input + 1000 output tokens of the 1100, which
    // leaves too few for the smallest second answer until it settles.
    const server = await start({
      TOKENWISE_FREE_TOKENS: '1100',
      TOKENWISE_MAX_OUTPUT_TOKENS: '1000',
    });
    const install = await registerInstall(server.url);
    fake.enqueue({
      type: 'answer',
      deltas: ['A ', 'slow ', 'answer.'],
      chunkDelayMs: 300,
      usage: { inputTokens: 40, outputTokens: 20 },
    });
    const slow = await postChat(server.url, install.token, {
      question: 'A slow one?',
      tier: 'cheap',
    });
    expect(slow.status).toBe(200);

    const refused = await postChat(server.url, install.token, {
      question: 'Meanwhile?',
      tier: 'cheap',
    });

    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('5');
    const body = await readErrorBody(refused);
    expect(body.error.code).toBe('rate_limited');
    expect(body.error.retryAfterSeconds).toBe(5);
    expect(body.error.message).toMatch(
      /^Other answers in progress hold \d+ of the allowance tokens/,
    );

    await readChatEvents(slow);
    fake.enqueue({ type: 'answer', text: 'Now it fits.' });
    const retried = await postChat(server.url, install.token, {
      question: 'Meanwhile?',
      tier: 'cheap',
    });
    expect(retried.status).toBe(200);
    expect(findEvent(await readChatEvents(retried), 'route').tier).toBe(
      'cheap',
    );
  });

  it('answers 402 when settled use leaves too few', async () => {
    const server = await start({
      TOKENWISE_FREE_TOKENS: '1100',
      TOKENWISE_MAX_OUTPUT_TOKENS: '1000',
    });
    const install = await registerInstall(server.url);
    fake.enqueue({
      type: 'answer',
      text: 'A long answer.',
      usage: { inputTokens: 40, outputTokens: 1_000 },
    });
    await readChatEvents(
      await postChat(server.url, install.token, {
        question: 'A long one?',
        tier: 'cheap',
      }),
    );
    const balance = await server.store.getBalance(
      install.installId,
      new Date(),
    );
    expect(balance.reserved).toBe(0);
    expect(balance.remaining).toBeLessThan(MIN_OUTPUT_TOKENS);

    const refused = await postChat(server.url, install.token, {
      question: 'One more?',
      tier: 'cheap',
    });

    expect(refused.status).toBe(402);
    const body = await readErrorBody(refused);
    expect(body.error.code).toBe('allowance_exhausted');
    expect(body.error.remaining).toBe(balance.remaining);
  });

  it('caps the last premium answer to the share', async () => {
    const server = await start({
      TOKENWISE_FREE_TOKENS: '10000',
      TOKENWISE_FREE_PREMIUM_TOKENS: '1500',
      TOKENWISE_MAX_OUTPUT_TOKENS: '200',
    });
    const install = await registerInstall(server.url);
    // 5 × (20 + 20) = 200 charged leaves 1300 of the premium share. The
    // prompts here are about 100 tokens, so the next premium answer can
    // have about 1300 / 5 - 100 = 160 output tokens, under the cap of 200.
    fake.enqueue({
      type: 'answer',
      text: 'First.',
      usage: { inputTokens: 20, outputTokens: 20 },
    });
    await readChatEvents(
      await postChat(server.url, install.token, {
        question: 'First?',
        tier: 'premium',
      }),
    );
    // The model writes far past what the share allows.
    fake.enqueue({
      type: 'answer',
      text: 'Second.',
      usage: { outputTokens: 200 },
    });

    const response = await postChat(server.url, install.token, {
      question: 'Second?',
      tier: 'premium',
    });

    expect(response.status).toBe(200);
    const route = findEvent(await readChatEvents(response), 'route');
    expect(route.tier).toBe('premium');
    const reserves = await reserveEntries(server, install.installId);
    const last = reserves.at(-1);
    expect(last?.tier).toBe('premium');
    expect(last?.outputTokens).toBeLessThan(200);
    expect(last?.outputTokens).toBeGreaterThanOrEqual(MIN_OUTPUT_TOKENS);
    expect(last?.allowanceTokens).toBeLessThanOrEqual(1300);
    const sent = fake.requests.at(-1)?.body as Record<string, unknown>;
    expect(sent.max_completion_tokens ?? sent.max_tokens).toBe(
      last?.outputTokens,
    );
    const entries = await server.store.listLedgerEntries(install.installId);
    const premiumCharged = entries
      .filter((entry) => entry.kind === 'settle' && entry.tier === 'premium')
      .reduce((total, entry) => total + entry.allowanceTokens, 0);
    expect(premiumCharged).toBeLessThanOrEqual(1500);
  });

  it('routes to cheap when no premium answer fits', async () => {
    const server = await start({
      TOKENWISE_FREE_TOKENS: '10000',
      TOKENWISE_FREE_PREMIUM_TOKENS: '1500',
      TOKENWISE_MAX_OUTPUT_TOKENS: '200',
    });
    const install = await registerInstall(server.url);
    // 5 × (100 + 100) = 1000 charged leaves 500, under the 5 × (100 + 64)
    // that a prompt of about 100 tokens with the smallest answer needs.
    fake.enqueue({
      type: 'answer',
      text: 'First.',
      usage: { inputTokens: 100, outputTokens: 100 },
    });
    await readChatEvents(
      await postChat(server.url, install.token, {
        question: 'First?',
        tier: 'premium',
      }),
    );
    fake.enqueue({ type: 'answer', text: 'Second.' });

    const response = await postChat(server.url, install.token, {
      question: 'Second?',
      tier: 'premium',
    });

    expect(response.status).toBe(200);
    const route = findEvent(await readChatEvents(response), 'route');
    expect(route.tier).toBe('cheap');
    expect(route.reasons.at(-1)).toBe(
      "the free plan's premium allowance of 1500 tokens has 500 left, too few for this question",
    );
    expect((fake.requests.at(-1)?.body as { model: string }).model).toBe(
      'gpt-5-mini',
    );
  });
});
