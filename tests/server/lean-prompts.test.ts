/**
 * The context budget on the backend over real HTTP against the fake
 * provider: the running summary of older turns (written once per
 * conversation state, charged, reused, skipped when it fails), page
 * passages within the budget, the per-tier output cap, and billing of
 * exactly what was sent.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SUMMARY_MAX_TOKENS } from '../../lib/context-budget';
import type { ChatMessage, ChatRequest } from '../../lib/protocol';
import { countChatTokens, countTokens } from '../../lib/tokens';
import {
  SUMMARY_INPUT_TOKENS,
  SUMMARY_INSTRUCTION,
} from '../../server/context/summary-request';
import {
  startFakeProvider,
  type FakeProvider,
  type FakeRequest,
} from '../fake-provider/index';
import {
  createTestRedisPrefix,
  createTestSchema,
  TEST_REDIS_URL,
} from './databases';
import {
  createTempDirectory,
  findEvent,
  postChat,
  readChatEvents,
  registerInstall,
  startTestBackend,
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

async function startWithFake(
  env: Record<string, string> = {},
): Promise<TestBackend> {
  backend = await startTestBackend(temp.directory, {
    OPENAI_API_KEY: 'test-openai-key',
    OPENAI_BASE_URL: fake.openaiBaseUrl,
    TOKENWISE_CHEAP_MODEL: 'openai:gpt-5-mini',
    TOKENWISE_PREMIUM_MODEL: 'openai:gpt-5.5',
    TOKENWISE_RETRY_BASE_DELAY_MS: '10',
    TOKENWISE_RECENT_TURNS: '1',
    ...env,
  });
  return backend;
}

interface OpenAiBody {
  max_completion_tokens: number;
  messages: Array<{ role: string; content: string }>;
}

function bodyOf(request: FakeRequest | undefined): OpenAiBody {
  return request?.body as OpenAiBody;
}

function isSummaryCall(request: FakeRequest): boolean {
  return bodyOf(request).messages[0]?.content === SUMMARY_INSTRUCTION;
}

/**
 * Builds a conversation of `count` turns about different rivers, each
 * longer than FOLD_BLOCK_TOKENS, so every turn is a block of its own.
 */
function conversation(count: number): ChatMessage[] {
  const detail = 'It carries water, sediment and boats toward the sea. '.repeat(
    60,
  );
  return Array.from({ length: count }, (_, index) => [
    { role: 'user' as const, content: `Tell me about river number ${index}.` },
    {
      role: 'assistant' as const,
      content: `River ${index} is long and flows into the sea number ${index}. ${detail}`,
    },
  ]).flat();
}

async function ask(server: TestBackend, token: string, body: ChatRequest) {
  const events = await readChatEvents(
    await postChat(server.url, token, { tier: 'cheap', ...body }),
  );
  return { events, route: findEvent(events, 'route') };
}

describe('running summary', () => {
  it('is written once per conversation state and reused', async () => {
    const server = await startWithFake();
    const install = await registerInstall(server.url);
    fake.enqueue(
      {
        type: 'answer',
        text: 'Rivers 0 discussed.',
        usage: { inputTokens: 90, outputTokens: 5 },
      },
      {
        type: 'answer',
        text: 'First answer.',
        usage: { inputTokens: 60, outputTokens: 3 },
      },
      {
        type: 'answer',
        text: 'Second answer.',
        usage: { inputTokens: 60, outputTokens: 3 },
      },
    );
    const history = conversation(2);

    const first = await ask(server, install.token, {
      question: 'Which river is longest?',
      history,
    });
    const second = await ask(server, install.token, {
      question: 'Which river is shortest?',
      history,
    });

    expect(fake.requests).toHaveLength(3);
    expect(isSummaryCall(fake.requests[0] as FakeRequest)).toBe(true);
    expect(fake.requests.slice(1).some(isSummaryCall)).toBe(false);
    const summaryBody = bodyOf(fake.requests[0]);
    expect(summaryBody.max_completion_tokens).toBe(SUMMARY_MAX_TOKENS);
    expect(summaryBody.messages[1]?.content).toContain('river number 0');
    expect(summaryBody.messages[1]?.content).not.toContain('river number 1');

    for (const request of fake.requests.slice(1)) {
      const first = bodyOf(request).messages[1]?.content ?? '';
      expect(
        first.startsWith(
          '<summary turns="1">\nRivers 0 discussed.\n</summary>',
        ),
      ).toBe(true);
      expect(first).toContain('Tell me about river number 1.');
    }
    expect(first.route.context?.summarizedTurns).toBe(1);
    expect(first.route.context?.recentTurns).toBe(1);
    expect(first.route.context?.summary).toEqual({
      status: 'written',
      charged: 95,
    });
    expect(second.route.context?.summary).toEqual({
      status: 'reused',
      charged: 0,
    });

    // The summary is a ledger entry of its own: reserved and settled.
    const entries = await server.store.listLedgerEntries(install.installId);
    const settles = entries.filter((entry) => entry.kind === 'settle');
    expect(settles.map((entry) => entry.allowanceTokens)).toEqual([95, 63, 63]);
    const requestIds = new Set(settles.map((entry) => entry.requestId));
    expect(requestIds.size).toBe(3);
    expect(requestIds.has(first.route.requestId)).toBe(true);
    const usage = await server.store.getBalance(install.installId, new Date());
    expect(usage.used).toBe(95 + 63 + 63);
    expect(usage.reserved).toBe(0);
  });

  it('folds only the new turn into the previous summary', async () => {
    const server = await startWithFake();
    const install = await registerInstall(server.url);
    fake.enqueue(
      { type: 'answer', text: 'Summary A.' },
      { type: 'answer', text: 'Answer.' },
      { type: 'answer', text: 'Summary B.' },
      { type: 'answer', text: 'Answer.' },
    );

    await ask(server, install.token, {
      question: 'Next?',
      history: conversation(2),
    });
    const { route } = await ask(server, install.token, {
      question: 'And next?',
      history: conversation(3),
    });

    const secondSummary = bodyOf(fake.requests[2]);
    expect(isSummaryCall(fake.requests[2] as FakeRequest)).toBe(true);
    const content = secondSummary.messages[1]?.content ?? '';
    expect(content.startsWith('Previous summary:\nSummary A.')).toBe(true);
    expect(content).toContain('river number 1');
    expect(content).not.toContain('river number 0');
    expect(route.context?.summarizedTurns).toBe(2);
    const answer = bodyOf(fake.requests[3]).messages[1]?.content ?? '';
    expect(answer.startsWith('<summary turns="2">\nSummary B.')).toBe(true);
  });

  it('is rewritten once per block of turns', async () => {
    const server = await startWithFake();
    const install = await registerInstall(server.url);
    // About 400 tokens a turn, so a block of FOLD_BLOCK_TOKENS is two turns.
    const history = conversation(5).map((message) => ({
      ...message,
      content: message.content.slice(0, 1_700),
    }));
    fake.enqueue(
      { type: 'answer', text: 'Summary of 0 and 1.' },
      { type: 'answer', text: 'Answer.' },
      { type: 'answer', text: 'Answer.' },
      { type: 'answer', text: 'Summary up to 3.' },
      { type: 'answer', text: 'Answer.' },
    );

    const three = await ask(server, install.token, {
      question: 'A?',
      history: history.slice(0, 6),
    });
    const four = await ask(server, install.token, {
      question: 'B?',
      history: history.slice(0, 8),
    });
    const five = await ask(server, install.token, {
      question: 'C?',
      history,
    });

    expect(three.route.context?.summarizedTurns).toBe(2);
    expect(three.route.context?.summary?.status).toBe('written');
    expect(four.route.context?.summarizedTurns).toBe(2);
    expect(four.route.context?.recentTurns).toBe(2);
    expect(four.route.context?.summary?.status).toBe('reused');
    expect(five.route.context?.summarizedTurns).toBe(4);
    expect(five.route.context?.summary?.status).toBe('written');
    expect(fake.requests.filter(isSummaryCall)).toHaveLength(2);
    const second = bodyOf(fake.requests[3]).messages[1]?.content ?? '';
    expect(second.startsWith('Previous summary:\nSummary of 0 and 1.')).toBe(
      true,
    );
    expect(second).toContain('river number 2');
    expect(second).toContain('river number 3');
    expect(second).not.toContain('river number 1');
  });

  it('survives a restart of the backend', async () => {
    const server = await startWithFake();
    const install = await registerInstall(server.url);
    fake.enqueue(
      { type: 'answer', text: 'Stored summary.' },
      { type: 'answer', text: 'Answer.' },
      { type: 'answer', text: 'Answer again.' },
    );
    await ask(server, install.token, {
      question: 'One?',
      history: conversation(2),
    });
    await server.stop({ drainTimeoutMs: 1_000 });
    backend = undefined;

    const restarted = await startWithFake();
    const { route } = await ask(restarted, install.token, {
      question: 'Two?',
      history: conversation(2),
    });

    expect(fake.requests).toHaveLength(3);
    expect(route.context?.summary?.status).toBe('reused');
    expect(bodyOf(fake.requests[2]).messages[1]?.content).toContain(
      'Stored summary.',
    );
  });

  it('is kept in memory when the answer cache is off', async () => {
    const server = await startWithFake({ TOKENWISE_CACHE_TTL_SECONDS: '0' });
    const install = await registerInstall(server.url);
    fake.enqueue(
      { type: 'answer', text: 'Memory summary.' },
      { type: 'answer', text: 'Answer.' },
      { type: 'answer', text: 'Answer.' },
    );

    await ask(server, install.token, {
      question: 'A?',
      history: conversation(2),
    });
    const { route } = await ask(server, install.token, {
      question: 'B?',
      history: conversation(2),
    });

    expect(fake.requests.filter(isSummaryCall)).toHaveLength(1);
    expect(route.context?.summary?.status).toBe('reused');
  });

  it('is not shared between installs', async () => {
    const server = await startWithFake();
    const first = await registerInstall(server.url);
    const second = await registerInstall(server.url);
    fake.enqueue(
      { type: 'answer', text: 'Summary one.' },
      { type: 'answer', text: 'Answer.' },
      { type: 'answer', text: 'Summary two.' },
      { type: 'answer', text: 'Answer.' },
    );

    await ask(server, first.token, {
      question: 'A?',
      history: conversation(2),
    });
    const { route } = await ask(server, second.token, {
      question: 'A?',
      history: conversation(2),
    });

    expect(fake.requests.filter(isSummaryCall)).toHaveLength(2);
    expect(route.context?.summary?.status).toBe('written');
  });

  it('is skipped when the summary call fails', async () => {
    const server = await startWithFake({ TOKENWISE_MAX_ATTEMPTS: '1' });
    const install = await registerInstall(server.url);
    fake.enqueue(
      { type: 'status', status: 500 },
      {
        type: 'answer',
        text: 'Answered anyway.',
        usage: { inputTokens: 40, outputTokens: 4 },
      },
    );

    const { events, route } = await ask(server, install.token, {
      question: 'Which river?',
      history: conversation(3),
    });

    expect(findEvent(events, 'done').finishReason).toBe('stop');
    expect(route.context?.summary).toEqual({ status: 'failed', charged: 0 });
    expect(route.context?.droppedTurns).toBe(2);
    expect(route.context?.summarizedTurns).toBe(0);
    expect(route.context?.recentTurns).toBe(1);
    const sent = bodyOf(fake.requests[1]).messages;
    expect(sent.map((message) => message.role)).toEqual([
      'system',
      'user',
      'assistant',
      'user',
    ]);
    expect(sent[1]?.content).toBe('Tell me about river number 2.');
    const balance = await server.store.getBalance(
      install.installId,
      new Date(),
    );
    expect(balance.used).toBe(44);
    expect(balance.reserved).toBe(0);
    const kinds = (await server.store.listLedgerEntries(install.installId)).map(
      (entry) => entry.kind,
    );
    expect(kinds).toEqual(['reset', 'reserve', 'release', 'reserve', 'settle']);
    expect(
      server.logs.lines.some(
        (line) => line.msg === 'running summary call failed',
      ),
    ).toBe(true);
    const answered = server.logs.lines.find(
      (line) => line.msg === 'chat answered',
    );
    expect(answered?.droppedTurns).toBe(2);
    expect(answered?.summarizedTurns).toBe(0);
    expect(answered?.contextTokens).toBe(route.context?.sentTokens);
  });

  it('is skipped and not charged when it breaks off', async () => {
    const server = await startWithFake({ TOKENWISE_MAX_ATTEMPTS: '1' });
    const install = await registerInstall(server.url);
    fake.enqueue(
      { type: 'drop-mid-stream', text: 'Half a summary that', afterDeltas: 2 },
      { type: 'answer', text: 'Answered anyway.' },
    );

    const { route } = await ask(server, install.token, {
      question: 'Which river?',
      history: conversation(2),
    });

    // The provider billed the delivered part, so it is charged, but the
    // cut summary is neither sent nor stored.
    expect(route.context?.summary?.status).toBe('failed');
    expect(route.context?.droppedTurns).toBe(1);
    expect(bodyOf(fake.requests[1]).messages[1]?.content).not.toContain(
      'Half a summary',
    );
  });

  it('cuts an over-long summary to its cap', async () => {
    const server = await startWithFake();
    const install = await registerInstall(server.url);
    fake.enqueue(
      { type: 'answer', text: 'long summary words '.repeat(400) },
      { type: 'answer', text: 'Answer.' },
    );

    const { route } = await ask(server, install.token, {
      question: 'Which one?',
      history: conversation(2),
    });

    const first = bodyOf(fake.requests[1]).messages[1]?.content ?? '';
    const summary = first.slice(
      first.indexOf('>\n') + 2,
      first.indexOf('\n</summary>'),
    );
    expect(countTokens(summary)).toBeLessThanOrEqual(SUMMARY_MAX_TOKENS);
    expect(summary.startsWith('long summary words')).toBe(true);
    expect(route.context?.summaryTokens).toBeGreaterThan(
      SUMMARY_MAX_TOKENS / 2,
    );
  });

  it('bounds the summary call for huge older turns', async () => {
    const server = await startWithFake();
    const install = await registerInstall(server.url);
    const huge = 'word '.repeat(12_000);
    const history: ChatMessage[] = [
      { role: 'user', content: huge },
      { role: 'assistant', content: huge },
      { role: 'user', content: huge },
      { role: 'assistant', content: huge },
      ...conversation(1),
    ];
    fake.enqueue(
      { type: 'answer', text: 'Lots of words.' },
      { type: 'answer', text: 'Answer.' },
    );

    const { route } = await ask(server, install.token, {
      question: 'What was that?',
      history,
    });

    const summaryCall = bodyOf(fake.requests[0]);
    expect(countChatTokens(summaryCall.messages)).toBeLessThanOrEqual(
      SUMMARY_INPUT_TOKENS,
    );
    expect(route.context?.summarizedTurns).toBe(2);
    expect(route.context?.sentTokens).toBeLessThanOrEqual(3_000);
  });
});

describe('context budget', () => {
  it('bills exactly the prompt it sent', async () => {
    const server = await startWithFake({
      TOKENWISE_CHEAP_CONTEXT_TOKENS: '1000',
    });
    const install = await registerInstall(server.url);
    const paragraphs = Array.from(
      { length: 400 },
      (_, index) =>
        `Paragraph ${index} describes the old town walls and gates in detail.`,
    );
    paragraphs.push(
      'The final paragraph says the lighthouse was painted red in 1921.',
    );
    fake.enqueue({ type: 'answer', text: 'Red.' });

    const { events, route } = await ask(server, install.token, {
      question: 'What colour was the lighthouse painted?',
      history: [
        { role: 'user', content: 'Is this page about a town?' },
        { role: 'assistant', content: 'Yes, about its walls.' },
      ],
      pageContext: {
        title: 'Town',
        url: 'https://town.test/',
        text: paragraphs.join('\n\n'),
      },
    });

    const sent = bodyOf(fake.requests[0]).messages;
    expect(route.inputTokens).toBe(countChatTokens(sent));
    expect(findEvent(events, 'done').finishReason).toBe('stop');
    expect(route.context?.budgetTokens).toBe(1_000);
    expect(route.context?.sentTokens).toBeLessThanOrEqual(1_000);
    expect(route.context?.page?.totalPassages).toBeGreaterThan(10);
    expect(route.context?.page?.sentPassages).toBeGreaterThan(0);
    const last = sent.at(-1)?.content ?? '';
    expect(last).toContain('lighthouse was painted red in 1921');
    expect(last.length).toBeLessThan(paragraphs.join('\n\n').length / 4);
    const reserve = (
      await server.store.listLedgerEntries(install.installId)
    ).find((entry) => entry.kind === 'reserve');
    expect(reserve?.inputTokens).toBe(route.inputTokens);
  });

  it('uses each tier its own output cap', async () => {
    const server = await startWithFake({
      TOKENWISE_CHEAP_MAX_OUTPUT_TOKENS: '200',
      TOKENWISE_PREMIUM_MAX_OUTPUT_TOKENS: '700',
    });
    const install = await registerInstall(server.url);
    fake.enqueue(
      { type: 'answer', text: 'A.' },
      { type: 'answer', text: 'B.' },
    );

    const cheap = await ask(server, install.token, { question: 'Hi?' });
    const premium = await ask(server, install.token, {
      question: 'Hi again?',
      tier: 'premium',
    });

    expect(cheap.route.maxOutputTokens).toBe(200);
    expect(premium.route.maxOutputTokens).toBe(700);
    expect(bodyOf(fake.requests[0]).max_completion_tokens).toBe(200);
    expect(bodyOf(fake.requests[1]).max_completion_tokens).toBe(700);
    expect(cheap.route.context?.budgetTokens).toBe(3_000);
    expect(premium.route.context?.budgetTokens).toBe(8_000);
  });

  it('answers a request far over the budget within it', async () => {
    const server = await startWithFake({ TOKENWISE_RECENT_TURNS: '50' });
    const install = await registerInstall(server.url);
    const long = 'sentence with several words in it. '.repeat(1_800);
    const history: ChatMessage[] = Array.from({ length: 50 }, (_, index) => ({
      role: index % 2 === 0 ? ('user' as const) : ('assistant' as const),
      content: long,
    }));
    fake.enqueue(
      { type: 'answer', text: 'Summary.' },
      { type: 'answer', text: 'Done.' },
    );

    const { events, route } = await ask(server, install.token, {
      question: 'So?',
      history,
      pageContext: { title: 't', url: 'u', text: long.repeat(6) },
    });

    expect(findEvent(events, 'done').finishReason).toBe('stop');
    expect(route.context?.sentTokens).toBeLessThanOrEqual(3_000);
    expect(route.inputTokens).toBeLessThan(3_100);
  });
});

describe('running summary on PostgreSQL and Redis', () => {
  it('is written once for two backends', async () => {
    const schema = createTestSchema();
    const redisPrefix = createTestRedisPrefix();
    const second = createTempDirectory();
    const env = {
      OPENAI_API_KEY: 'test-openai-key',
      OPENAI_BASE_URL: fake.openaiBaseUrl,
      TOKENWISE_CHEAP_MODEL: 'openai:gpt-5-mini',
      TOKENWISE_RECENT_TURNS: '1',
      TOKENWISE_DATABASE_URL: schema.url,
      TOKENWISE_REDIS_URL: TEST_REDIS_URL,
      TOKENWISE_REDIS_KEY_PREFIX: redisPrefix.prefix,
    };
    const first = await startTestBackend(temp.directory, env);
    const other = await startTestBackend(second.directory, env);
    try {
      const install = await registerInstall(first.url);
      fake.enqueue(
        { type: 'answer', text: 'Shared summary.' },
        { type: 'answer', text: 'Answer one.' },
        { type: 'answer', text: 'Answer two.' },
      );

      const one = await ask(first, install.token, {
        question: 'First?',
        history: conversation(2),
      });
      const two = await ask(other, install.token, {
        question: 'Second?',
        history: conversation(2),
      });

      expect(fake.requests.filter(isSummaryCall)).toHaveLength(1);
      expect(one.route.context?.summary?.status).toBe('written');
      expect(two.route.context?.summary?.status).toBe('reused');
      expect(bodyOf(fake.requests[2]).messages[1]?.content).toContain(
        'Shared summary.',
      );
    } finally {
      await first.stop({ drainTimeoutMs: 1_000 });
      await other.stop({ drainTimeoutMs: 1_000 });
      await redisPrefix.clear();
      await schema.drop();
      second.remove();
    }
  });
});
