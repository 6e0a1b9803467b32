import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fakeBrowser } from 'wxt/testing';
import { AnswerCache } from '../../../lib/extension/answer-cache';
import {
  answerQuestion,
  type AnswerServices,
} from '../../../lib/extension/answer-question';
import { BackendClient } from '../../../lib/extension/backend-client';
import { TokenwiseDatabase } from '../../../lib/extension/database';
import type {
  AnswerEvent,
  AskMessage,
} from '../../../lib/extension/port-messages';
import { readQuestionStats } from '../../../lib/extension/question-stats';
import { readRouteModels } from '../../../lib/extension/route-models';
import { updateSettings } from '../../../lib/extension/settings';
import { UsageMirror } from '../../../lib/extension/usage-mirror';
import { readUsageSnapshot } from '../../../lib/extension/usage-snapshot';
import type { ChatMessage } from '../../../lib/protocol';
import {
  DEFAULT_ANSWER_TEXT,
  answerEvents,
  encodeEvents,
  startProtocolServer,
  usageFigures,
  type ProtocolServer,
} from './support/protocol-server';

const QUESTION = 'What is the capital of France?';

function askMessage(overrides: Partial<AskMessage> = {}): AskMessage {
  return {
    type: 'ask',
    answerId: randomUUID(),
    conversationId: 'conversation-1',
    question: QUESTION,
    history: [],
    tier: 'auto',
    offerSimilar: true,
    ...overrides,
  };
}

function textOf(events: AnswerEvent[]): string {
  return events
    .map((event) => (event.type === 'answer-delta' ? event.text : ''))
    .join('');
}

describe('answerQuestion', () => {
  let server: ProtocolServer;
  let database: TokenwiseDatabase;
  let services: AnswerServices;

  beforeEach(async () => {
    fakeBrowser.reset();
    server = await startProtocolServer();
    database = new TokenwiseDatabase(`test-${randomUUID()}`);
    services = {
      client: new BackendClient({ baseUrl: server.url }),
      cache: new AnswerCache(database),
      usage: new UsageMirror({ backendUrl: server.url }),
    };
  });

  afterEach(async () => {
    await server.close();
    await database.delete();
  });

  async function ask(
    overrides: Partial<AskMessage> = {},
    signal = new AbortController().signal,
  ) {
    const events: AnswerEvent[] = [];
    const outcome = await answerQuestion({
      request: askMessage(overrides),
      services,
      signal,
      emit: (event) => events.push(event),
    });
    return { outcome, events };
  }

  it('streams an answer and caches it', async () => {
    server.usage = usageFigures({ used: 28, remaining: 972 });
    const { outcome, events } = await ask();

    expect(outcome).toBe('done');
    expect(events[0]).toMatchObject({
      type: 'answer-route',
      tier: 'cheap',
      model: 'demo:gemini-3-flash',
      fromCache: false,
      inputTokens: 20,
    });
    expect(textOf(events)).toBe(DEFAULT_ANSWER_TEXT);
    expect(events.at(-2)).toMatchObject({
      type: 'answer-usage',
      charged: 28,
      fromCache: false,
    });
    expect(events.at(-1)).toMatchObject({
      type: 'answer-done',
      finishReason: 'stop',
    });
    expect(await services.cache.count()).toBe(1);
    expect(await readRouteModels()).toEqual({ cheap: 'demo:gemini-3-flash' });
  });

  it('corrects the usage mirror from the backend', async () => {
    server.usage = usageFigures({ used: 28, remaining: 972 });
    await ask();

    const snapshot = await readUsageSnapshot();
    expect(snapshot?.status).toBe('ok');
    expect(snapshot?.figures?.used).toBe(28);
    expect(snapshot?.figures?.remaining).toBe(972);
    expect(snapshot?.figures?.liveTokens).toBe(0);
    expect(server.usageRequests).toBe(1);
  });

  it('answers a repeat from the cache for free', async () => {
    await ask();
    const { outcome, events } = await ask({
      question: '  what is the capital of France ',
    });

    expect(outcome).toBe('cached');
    expect(server.chatRequests).toHaveLength(1);
    expect(events.map((event) => event.type)).toEqual([
      'answer-route',
      'answer-delta',
      'answer-usage',
      'answer-done',
    ]);
    expect(events[0]).toMatchObject({
      fromCache: true,
      model: 'demo:gemini-3-flash',
    });
    expect(events[2]).toMatchObject({
      charged: 0,
      fromCache: true,
      inputTokens: 20,
      outputTokens: 8,
    });
    expect(textOf(events)).toBe(DEFAULT_ANSWER_TEXT);
  });

  it('answers a repeat later in the same conversation', async () => {
    await ask();
    server.enqueueChat({
      type: 'stream',
      chunks: [
        encodeEvents(
          answerEvents({
            tier: 'premium',
            model: 'demo:gpt-5.5',
            text: 'Proof.',
          }),
        ),
      ],
    });
    const history: ChatMessage[] = [
      { role: 'user', content: QUESTION },
      { role: 'assistant', content: DEFAULT_ANSWER_TEXT },
    ];
    await ask({
      question: 'Prove that there are infinitely many primes.',
      history,
    });

    const { outcome } = await ask({
      question: QUESTION,
      history: [
        ...history,
        {
          role: 'user',
          content: 'Prove that there are infinitely many primes.',
        },
        { role: 'assistant', content: 'Proof.' },
      ],
    });
    expect(outcome).toBe('cached');
    expect(server.chatRequests).toHaveLength(2);
  });

  it('misses a follow-up from another conversation', async () => {
    const fruits: ChatMessage[] = [
      { role: 'user', content: 'List three fruits.' },
      { role: 'assistant', content: 'Apple, banana, cherry.' },
    ];
    const planets: ChatMessage[] = [
      { role: 'user', content: 'List three planets.' },
      { role: 'assistant', content: 'Mercury, Venus, Earth.' },
    ];
    await ask({ question: 'And the second one?', history: fruits });
    const { outcome } = await ask({
      question: 'And the second one?',
      history: planets,
    });

    expect(outcome).toBe('done');
    expect(server.chatRequests).toHaveLength(2);
  });

  it('misses after the backend changes model', async () => {
    await ask();
    server.enqueueChat({
      type: 'stream',
      chunks: [encodeEvents(answerEvents({ model: 'demo:gemini-2.5-flash' }))],
    });
    await ask({ question: 'What is the capital of Spain?' });
    expect((await readRouteModels()).cheap).toBe('demo:gemini-2.5-flash');

    const { outcome } = await ask();
    expect(outcome).toBe('done');
    expect(server.chatRequests).toHaveLength(3);
  });

  it('sends premium when the user asks for it', async () => {
    await ask({ tier: 'premium' });
    expect(server.chatRequests[0]?.body.tier).toBe('premium');
  });

  it('sends cheap under the always-cheap preference', async () => {
    await updateSettings({ routing: 'cheap' });
    await ask();
    expect(server.chatRequests[0]?.body.tier).toBe('cheap');
  });

  it('lets a premium request beat the cheap preference', async () => {
    await updateSettings({ routing: 'cheap' });
    await ask({ tier: 'premium' });
    expect(server.chatRequests[0]?.body.tier).toBe('premium');
  });

  it('neither reads nor fills a disabled cache', async () => {
    await ask();
    await updateSettings({ cacheEnabled: false });
    const { outcome } = await ask();

    expect(outcome).toBe('done');
    expect(server.chatRequests).toHaveLength(2);
    expect(await services.cache.count()).toBe(1);
  });

  it('sends the page context and keys the cache by it', async () => {
    const pageContext = {
      title: 'Paris',
      url: 'http://127.0.0.1/paris',
      text: 'Paris is a city.',
    };
    await ask({ pageContext });
    expect(server.chatRequests[0]?.body.pageContext).toEqual(pageContext);

    const other = await ask({
      pageContext: { ...pageContext, text: 'Paris is a river.' },
    });
    expect(other.outcome).toBe('done');
    const plain = await ask();
    expect(plain.outcome).toBe('done');
    expect(server.chatRequests).toHaveLength(3);
  });

  it('counts answered questions for the average', async () => {
    server.usage = usageFigures({ used: 28, remaining: 972 });
    await ask();
    await ask({ question: 'Name a river in Paris.' });
    await ask();

    const stats = await readQuestionStats();
    expect(stats.questions).toBe(2);
    expect(stats.charged).toBeGreaterThan(0);
  });

  it('offers a similar earlier answer', async () => {
    services.similarity = {
      score: (a, b) => (a.includes('France') && b.includes('France') ? 0.9 : 0),
      isSimilar: (score) => score >= 0.5,
    };
    await ask();
    const { outcome, events } = await ask({
      question: 'Which city is the capital of France?',
    });

    expect(outcome).toBe('cached');
    expect(server.chatRequests).toHaveLength(1);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: 'answer-similar',
      question: QUESTION,
      score: 0.9,
    });
  });

  it('serves an offered answer the user takes', async () => {
    services.similarity = {
      score: () => 0.9,
      isSimilar: () => true,
    };
    await ask();
    const offer = await ask({ question: 'Capital of France, please?' });
    const offered = offer.events[0];
    if (offered?.type !== 'answer-similar') {
      throw new Error('expected an offer');
    }

    const taken = await ask({
      question: 'Capital of France, please?',
      similarKey: offered.cacheKey,
    });
    expect(taken.outcome).toBe('cached');
    expect(textOf(taken.events)).toBe(DEFAULT_ANSWER_TEXT);
    expect(server.chatRequests).toHaveLength(1);
    expect((await services.cache.stats()).hits).toBe(1);
  });

  it('asks anyway without an offer', async () => {
    services.similarity = { score: () => 0.9, isSimilar: () => true };
    await ask();
    const { outcome } = await ask({
      question: 'Capital of France, please?',
      offerSimilar: false,
    });
    expect(outcome).toBe('done');
    expect(server.chatRequests).toHaveLength(2);
  });

  it('never offers an answer to a follow-up', async () => {
    services.similarity = { score: () => 0.9, isSimilar: () => true };
    await ask();
    const { outcome } = await ask({
      question: 'And the second one?',
      history: [
        { role: 'user', content: 'Name two rivers.' },
        { role: 'assistant', content: 'Seine and Loire.' },
      ],
    });
    expect(outcome).toBe('done');
  });

  it('sends the request id and history', async () => {
    const history: ChatMessage[] = [
      { role: 'user', content: 'Hello' },
      { role: 'assistant', content: 'Hi!' },
    ];
    const answerId = randomUUID();
    await ask({ answerId, history });

    const [request] = server.chatRequests;
    expect(request?.body.requestId).toBe(answerId);
    expect(request?.body.history).toEqual(history);
    expect(request?.body.tier).toBe('auto');
  });

  it('never caches a stopped answer', async () => {
    server.enqueueChat({
      type: 'stream',
      chunks: [encodeEvents(answerEvents().slice(0, 3))],
      hold: true,
    });
    const disconnected = server.nextClientDisconnect();
    const controller = new AbortController();
    const events: AnswerEvent[] = [];

    const outcome = await answerQuestion({
      request: askMessage(),
      services,
      signal: controller.signal,
      emit: (event) => {
        events.push(event);
        if (event.type === 'answer-delta' && textOf(events).includes('is')) {
          controller.abort();
        }
      },
    });
    await disconnected;

    expect(outcome).toBe('stopped');
    expect(events.at(-1)?.type).toBe('answer-stopped');
    expect(textOf(events)).toBe('Paris is ');
    expect(await services.cache.count()).toBe(0);
  });

  it('never caches an answer that failed midway', async () => {
    server.enqueueChat({
      type: 'stream',
      chunks: [
        encodeEvents([
          ...answerEvents().slice(0, 3),
          [
            'error',
            { code: 'upstream_failed', message: 'The provider failed.' },
          ],
        ]),
      ],
    });
    const { outcome, events } = await ask();

    expect(outcome).toBe('error');
    expect(events.at(-1)).toMatchObject({
      type: 'answer-error',
      code: 'upstream_failed',
      message:
        'The AI model failed to answer. Send the question again in a moment.',
    });
    expect(textOf(events)).toBe('Paris is ');
    expect(await services.cache.count()).toBe(0);
  });

  it('says when to retry a rate-limited model', async () => {
    server.enqueueChat({
      type: 'stream',
      chunks: [
        encodeEvents([
          answerEvents()[0]!,
          [
            'error',
            {
              code: 'upstream_failed',
              message: 'The cheap model failed (HTTP 429).',
              retryAfterSeconds: 40,
            },
          ],
        ]),
      ],
    });
    const { outcome, events } = await ask();

    expect(outcome).toBe('error');
    expect(events.at(-1)).toMatchObject({
      type: 'answer-error',
      code: 'upstream_failed',
      message:
        'The AI model failed to answer. Send the question again in 40 seconds.',
    });
  });

  it('never caches a cut-off stream', async () => {
    server.enqueueChat({
      type: 'stream',
      chunks: [encodeEvents(answerEvents().slice(0, -1))],
    });
    const { outcome, events } = await ask();

    expect(outcome).toBe('error');
    expect(events.at(-1)).toMatchObject({
      type: 'answer-error',
      code: 'stream_interrupted',
    });
    expect(await services.cache.count()).toBe(0);
  });

  it('never caches an answer cut at the output cap', async () => {
    server.enqueueChat({
      type: 'stream',
      chunks: [encodeEvents(answerEvents({ finishReason: 'length' }))],
    });
    const { outcome } = await ask();

    expect(outcome).toBe('done');
    expect(await services.cache.count()).toBe(0);
  });

  it('explains an exhausted allowance', async () => {
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
    server.usage = usageFigures({ used: 1000, remaining: 0 });
    const { outcome, events } = await ask();

    expect(outcome).toBe('error');
    const error = events.at(-1);
    expect(error).toMatchObject({
      type: 'answer-error',
      code: 'allowance_exhausted',
      resetAt: '2026-02-01T00:00:00.000Z',
    });
    const message = error?.type === 'answer-error' ? error.message : '';
    expect(message).toMatch(
      /^You have used all your free tokens for this period\. Your allowance resets on /,
    );
    expect((await readUsageSnapshot())?.figures?.remaining).toBe(0);
  });

  it('names the tokens left when a question needs more', async () => {
    server.enqueueChat({
      type: 'status',
      status: 402,
      body: {
        error: {
          code: 'allowance_exhausted',
          message: 'This premium question needs at least 1440 tokens.',
          resetAt: '2026-02-01T00:00:00.000Z',
          remaining: 1301,
        },
      },
    });
    const { outcome, events } = await ask();

    expect(outcome).toBe('error');
    const error = events.at(-1);
    const message = error?.type === 'answer-error' ? error.message : '';
    expect(message).toContain('1,301');
    expect(message).not.toMatch(/used all your free tokens/);
  });

  it('explains an unreachable backend', async () => {
    await server.close();
    const { outcome, events } = await ask();

    expect(outcome).toBe('error');
    expect(events.at(-1)).toMatchObject({
      type: 'answer-error',
      code: 'backend_unreachable',
      message: `Cannot reach the Tokenwise server at ${server.url}. Check your connection and that the server is running, then try again.`,
    });
    expect((await readUsageSnapshot())?.status).toBe('unreachable');
    server = await startProtocolServer();
  });

  it('serves the cache while the backend is down', async () => {
    await ask();
    await server.close();

    const { outcome } = await ask();
    expect(outcome).toBe('cached');
    server = await startProtocolServer();
  });
});
