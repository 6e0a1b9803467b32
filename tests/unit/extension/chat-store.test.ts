import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fakeBrowser } from 'wxt/testing';
import { AnswerCache } from '../../../lib/extension/answer-cache';
import type { AnswerServices } from '../../../lib/extension/answer-question';
import { BackendClient } from '../../../lib/extension/backend-client';
import type { ChatPort } from '../../../lib/extension/chat-port';
import {
  serveChatPort,
  type ChatPortSession,
} from '../../../lib/extension/chat-port-handler';
import {
  createChatStore,
  type ChatState,
  type ChatStore,
} from '../../../lib/extension/chat-store';
import {
  TokenwiseDatabase,
  type MessageRecord,
} from '../../../lib/extension/database';
import { UsageMirror } from '../../../lib/extension/usage-mirror';
import { REQUEST_LIMITS } from '../../../lib/protocol';
import { createPortPair } from './support/port-pair';
import {
  DEFAULT_ANSWER_TEXT,
  answerEvents,
  encodeEvents,
  startProtocolServer,
  type ProtocolServer,
} from './support/protocol-server';

const QUESTION = 'What is the capital of France?';

/** Resolves once the store's state satisfies the predicate. */
function waitForState(
  store: ChatStore,
  predicate: (state: ChatState) => boolean,
): Promise<ChatState> {
  return new Promise((resolve) => {
    if (predicate(store.getState())) {
      resolve(store.getState());
      return;
    }
    const unsubscribe = store.subscribe((state) => {
      if (predicate(state)) {
        unsubscribe();
        resolve(state);
      }
    });
  });
}

function lastAnswer(state: ChatState): MessageRecord | undefined {
  return state.messages.findLast((message) => message.role === 'assistant');
}

function answerEnded(state: ChatState): boolean {
  const answer = lastAnswer(state);
  return answer !== undefined && answer.status !== 'streaming';
}

describe('chat store with the background', () => {
  let server: ProtocolServer;
  let database: TokenwiseDatabase;
  let sessions: ChatPortSession[];
  let panelPorts: ChatPort[];
  let backgroundPorts: ChatPort[];

  beforeEach(async () => {
    fakeBrowser.reset();
    server = await startProtocolServer();
    database = new TokenwiseDatabase(`test-${randomUUID()}`);
    sessions = [];
    panelPorts = [];
    backgroundPorts = [];
  });

  afterEach(async () => {
    // Closing the server first ends any answer a test left streaming.
    await server.close();
    await Promise.all(sessions.map((session) => session.whenIdle()));
    for (const port of panelPorts) {
      port.disconnect();
    }
    await database.delete();
  });

  /** Creates a panel store whose ports reach a real background handler. */
  function openPanel(similarity?: AnswerServices['similarity']): ChatStore {
    const services: AnswerServices = {
      similarity,
      client: new BackendClient({ baseUrl: server.url }),
      cache: new AnswerCache(database),
      usage: new UsageMirror({ backendUrl: server.url }),
    };
    return createChatStore({
      database,
      backendUrl: server.url,
      connect: () => {
        const ports = createPortPair();
        sessions.push(serveChatPort(ports.background, services));
        panelPorts.push(ports.panel);
        backgroundPorts.push(ports.background);
        return ports.panel;
      },
    });
  }

  it('streams an answer with its details', async () => {
    const store = openPanel();
    await store.getState().load();
    await store.getState().ask(QUESTION);

    const state = await waitForState(store, answerEnded);
    const [question, answer] = state.messages;
    expect(question).toMatchObject({
      role: 'user',
      text: QUESTION,
      position: 0,
    });
    expect(answer).toMatchObject({
      role: 'assistant',
      status: 'done',
      text: DEFAULT_ANSWER_TEXT,
      position: 1,
    });
    expect(answer?.answer).toEqual({
      tier: 'cheap',
      model: 'demo:gemini-3-flash',
      score: 0.1,
      reasons: ['short, general question'],
      fromCache: false,
      inputTokens: 20,
      outputTokens: 8,
      charged: 28,
      estimated: false,
    });
  });

  it('keeps the conversation after reopening', async () => {
    const store = openPanel();
    await store.getState().load();
    await store.getState().ask(QUESTION);
    await waitForState(store, answerEnded);
    await store.getState().whenSaved();

    const reopened = openPanel();
    await reopened.getState().load();
    const state = reopened.getState();
    expect(state.conversationId).toBe(store.getState().conversationId);
    expect(state.messages.map((message) => message.text)).toEqual([
      QUESTION,
      DEFAULT_ANSWER_TEXT,
    ]);
    expect(state.messages[1]?.status).toBe('done');
    expect(state.messages[1]?.answer?.charged).toBe(28);
  });

  it('shows a repeat as cached', async () => {
    const store = openPanel();
    await store.getState().load();
    await store.getState().ask(QUESTION);
    await waitForState(store, answerEnded);
    await store.getState().ask(QUESTION);

    const state = await waitForState(
      store,
      (current) => current.messages.length === 4 && answerEnded(current),
    );
    const repeat = lastAnswer(state);
    expect(repeat?.status).toBe('done');
    expect(repeat?.text).toBe(DEFAULT_ANSWER_TEXT);
    expect(repeat?.answer?.fromCache).toBe(true);
    expect(repeat?.answer?.charged).toBe(0);
    expect(server.chatRequests).toHaveLength(1);
  });

  it('sends the earlier turns as history', async () => {
    const store = openPanel();
    await store.getState().load();
    await store.getState().ask(QUESTION);
    await waitForState(store, answerEnded);
    await store.getState().ask('And of Spain?');
    await waitForState(
      store,
      (current) => current.messages.length === 4 && answerEnded(current),
    );

    expect(server.chatRequests[1]?.body.history).toEqual([
      { role: 'user', content: QUESTION },
      { role: 'assistant', content: DEFAULT_ANSWER_TEXT },
    ]);
  });

  it('keeps the partial text when stopped', async () => {
    server.enqueueChat({
      type: 'stream',
      chunks: [encodeEvents(answerEvents().slice(0, 3))],
      hold: true,
    });
    const store = openPanel();
    await store.getState().load();
    await store.getState().ask(QUESTION);
    await waitForState(
      store,
      (state) => lastAnswer(state)?.text === 'Paris is ',
    );

    store.getState().stop();
    const state = await waitForState(store, answerEnded);
    expect(lastAnswer(state)?.status).toBe('stopped');
    expect(lastAnswer(state)?.text).toBe('Paris is ');
    expect(lastAnswer(state)?.answer?.model).toBe('demo:gemini-3-flash');
  });

  it('shows an error sentence', async () => {
    server.enqueueChat({
      type: 'status',
      status: 402,
      body: {
        error: {
          code: 'allowance_exhausted',
          message: 'Used up.',
          resetAt: '2026-02-01T00:00:00.000Z',
        },
      },
    });
    const store = openPanel();
    await store.getState().load();
    await store.getState().ask(QUESTION);

    const answer = lastAnswer(await waitForState(store, answerEnded));
    expect(answer?.status).toBe('error');
    expect(answer?.error?.code).toBe('allowance_exhausted');
    expect(answer?.error?.message).toContain('Your allowance resets on');
  });

  it('fails streaming answers when the background goes away', async () => {
    server.enqueueChat({
      type: 'stream',
      chunks: [encodeEvents(answerEvents().slice(0, 2))],
      hold: true,
    });
    const store = openPanel();
    await store.getState().load();
    await store.getState().ask(QUESTION);
    await waitForState(store, (state) => lastAnswer(state)?.text === 'Paris ');

    // The background's end closes, as when the service worker stops.
    backgroundPorts[0]?.disconnect();
    const answer = lastAnswer(await waitForState(store, answerEnded));
    expect(answer?.status).toBe('error');
    expect(answer?.error?.code).toBe('background_disconnected');
    expect(answer?.text).toBe('Paris ');
  });

  it('marks an answer left streaming as stopped on load', async () => {
    const conversationId = 'conversation-1';
    await database.conversations.put({
      id: conversationId,
      title: QUESTION,
      createdAt: 1,
      updatedAt: 1,
    });
    await database.messages.bulkPut([
      {
        id: 'q',
        conversationId,
        position: 0,
        role: 'user',
        text: QUESTION,
        createdAt: 1,
      },
      {
        id: 'a',
        conversationId,
        position: 1,
        role: 'assistant',
        text: 'Par',
        createdAt: 1,
        status: 'streaming',
      },
    ]);

    const store = openPanel();
    await store.getState().load();
    expect(store.getState().messages[1]?.status).toBe('stopped');
    expect((await database.messages.get('a'))?.status).toBe('stopped');
  });

  it('starts an empty conversation', async () => {
    const store = openPanel();
    await store.getState().load();
    await store.getState().ask(QUESTION);
    await waitForState(store, answerEnded);
    await store.getState().startConversation();
    expect(store.getState().messages).toEqual([]);

    const reopened = openPanel();
    await reopened.getState().load();
    expect(reopened.getState().messages).toEqual([]);

    await reopened.getState().ask('Hello');
    const state = await waitForState(reopened, answerEnded);
    expect(state.conversationId).not.toBe(store.getState().conversationId);
    expect(state.messages[0]?.position).toBe(0);
  });

  it('fails an answer the background rejects', async () => {
    const store = openPanel();
    await store.getState().load();
    await store.getState().ask('x'.repeat(REQUEST_LIMITS.questionChars + 1));

    const state = await waitForState(store, answerEnded);
    const answer = lastAnswer(state);
    expect(answer?.status).toBe('error');
    expect(answer?.error?.message).toMatch(
      /^Invalid message from the side panel/,
    );
    expect(answer?.error?.message).toContain('question');
    expect(state.notice).toBe(answer?.error?.message);
    expect(server.chatRequests).toHaveLength(0);
  });

  it('ignores a second ask while one streams', async () => {
    const store = openPanel();
    await store.getState().load();
    await Promise.all([
      store.getState().ask(QUESTION),
      store.getState().ask('And of Spain?'),
    ]);

    const state = await waitForState(store, answerEnded);
    expect(state.messages.map((message) => message.text)).toEqual([
      QUESTION,
      DEFAULT_ANSWER_TEXT,
    ]);
    expect(server.chatRequests).toHaveLength(1);
  });

  it('retries an answer with premium in place', async () => {
    const store = openPanel();
    await store.getState().load();
    await store.getState().ask(QUESTION);
    await waitForState(store, answerEnded);
    server.enqueueChat({
      type: 'stream',
      chunks: [
        encodeEvents(answerEvents({ tier: 'premium', model: 'demo:premium' })),
      ],
    });

    const answerId = lastAnswer(store.getState())?.id ?? '';
    await store.getState().retryWithPremium(answerId);
    const state = await waitForState(store, answerEnded);

    expect(state.messages).toHaveLength(2);
    expect(lastAnswer(state)?.answer?.tier).toBe('premium');
    expect(lastAnswer(state)?.requestedTier).toBe('premium');
    expect(server.chatRequests[1]?.body.tier).toBe('premium');
    expect(server.chatRequests[1]?.body.history).toEqual([]);
  });

  it('sends premium for one question', async () => {
    const store = openPanel();
    await store.getState().load();
    await store.getState().ask(QUESTION, { tier: 'premium' });
    await waitForState(store, answerEnded);
    await store.getState().ask('And Germany?');
    await waitForState(store, answerEnded);

    expect(server.chatRequests[0]?.body.tier).toBe('premium');
    expect(server.chatRequests[1]?.body.tier).toBe('auto');
  });

  it('sends the page with the question', async () => {
    const store = openPanel();
    await store.getState().load();
    const page = {
      title: 'Paris',
      url: 'http://127.0.0.1/paris',
      text: 'Paris is big.',
      tokens: 4,
    };
    await store.getState().ask('Summarize this page', { page });
    await waitForState(store, answerEnded);

    expect(server.chatRequests[0]?.body.pageContext).toEqual({
      title: 'Paris',
      url: 'http://127.0.0.1/paris',
      text: 'Paris is big.',
    });
    expect(store.getState().messages[0]?.page).toEqual(page);
  });

  it('offers a similar answer, then uses it', async () => {
    const store = openPanel({ score: () => 0.95, isSimilar: () => true });
    await store.getState().load();
    await store.getState().ask(QUESTION);
    await waitForState(store, answerEnded);
    await store.getState().startConversation();
    await store.getState().ask('Capital city of France?');
    const offered = await waitForState(store, answerEnded);

    const offer = lastAnswer(offered);
    expect(offer?.status).toBe('offered');
    expect(offer?.offer?.question).toBe(QUESTION);

    await store.getState().useOffer(offer?.id ?? '');
    const used = await waitForState(store, answerEnded);
    expect(lastAnswer(used)?.status).toBe('done');
    expect(lastAnswer(used)?.answer?.fromCache).toBe(true);
    expect(lastAnswer(used)?.text).toBe(DEFAULT_ANSWER_TEXT);
    expect(server.chatRequests).toHaveLength(1);
  });

  it('asks anyway after an offer', async () => {
    const store = openPanel({ score: () => 0.95, isSimilar: () => true });
    await store.getState().load();
    await store.getState().ask(QUESTION);
    await waitForState(store, answerEnded);
    await store.getState().startConversation();
    await store.getState().ask('Capital city of France?');
    const offered = await waitForState(store, answerEnded);

    await store.getState().askAnyway(lastAnswer(offered)?.id ?? '');
    const answered = await waitForState(store, answerEnded);
    expect(lastAnswer(answered)?.status).toBe('done');
    expect(lastAnswer(answered)?.answer?.fromCache).toBe(false);
    expect(server.chatRequests).toHaveLength(2);
  });

  it('lists, switches, renames and deletes conversations', async () => {
    const store = openPanel();
    await store.getState().load();
    await store.getState().ask(QUESTION);
    await waitForState(store, answerEnded);
    const first = store.getState().conversationId ?? '';
    await store.getState().startConversation();
    await store.getState().ask('Name a river.');
    await waitForState(store, answerEnded);

    expect(store.getState().conversations).toHaveLength(2);
    await store.getState().switchConversation(first);
    expect(store.getState().conversationId).toBe(first);
    expect(store.getState().messages[0]?.text).toBe(QUESTION);

    await store.getState().renameConversation(first, '  France  ');
    const renamed = store
      .getState()
      .conversations.find((conversation) => conversation.id === first);
    expect(renamed?.title).toBe('France');

    await store.getState().deleteConversation(first);
    expect(store.getState().conversationId).toBeUndefined();
    expect(store.getState().messages).toEqual([]);
    expect(store.getState().conversations).toHaveLength(1);
    expect(await database.messages.count()).toBe(2);
  });

  it('ignores a blank question', async () => {
    const store = openPanel();
    await store.getState().load();
    await store.getState().ask('   ');
    expect(store.getState().messages).toEqual([]);
    expect(server.chatRequests).toHaveLength(0);
  });
});
