/**
 * How the chat store applies a stream's deltas. They are batched into few
 * state updates and never land after the event that follows them. The
 * answer is stored in IndexedDB whole, even when it ends before `ask` has
 * stored the question or while the panel still loads. The tests play the
 * background's side of a real channel.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fakeBrowser } from 'wxt/testing';
import type { ChatPort } from '../../../lib/extension/chat-port';
import {
  createChatStore,
  type ChatState,
  type ChatStore,
} from '../../../lib/extension/chat-store';
import {
  TokenwiseDatabase,
  type MessageRecord,
} from '../../../lib/extension/database';
import { createPortPair } from './support/port-pair';

const QUESTION = 'What is the capital of France?';

interface AskMessage {
  type: 'ask';
  answerId: string;
}

function lastAnswer(state: ChatState): MessageRecord | undefined {
  return state.messages.findLast((message) => message.role === 'assistant');
}

function answerEnded(state: ChatState): boolean {
  const answer = lastAnswer(state);
  return answer !== undefined && answer.status !== 'streaming';
}

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

describe('chat store deltas', () => {
  let database: TokenwiseDatabase;
  let ports: Array<{ panel: ChatPort; background: ChatPort }>;

  beforeEach(() => {
    fakeBrowser.reset();
    database = new TokenwiseDatabase(`test-${randomUUID()}`);
    ports = [];
  });

  afterEach(async () => {
    for (const pair of ports) {
      pair.panel.disconnect();
    }
    await database.delete();
  });

  /**
   * Opens a panel store whose background answers every ask with `reply`,
   * called with the ask's answer id and a function that posts an event.
   */
  function openPanel(
    reply: (answerId: string, post: (event: object) => void) => void,
    onPanelMessage?: (message: unknown) => void,
  ): ChatStore {
    return createChatStore({
      database,
      backendUrl: 'http://127.0.0.1:9',
      connect: () => {
        const pair = createPortPair();
        ports.push(pair);
        pair.background.onMessage.addListener((message) => {
          const ask = message as AskMessage;
          if (ask.type === 'ask') {
            reply(ask.answerId, (event) => pair.background.postMessage(event));
          }
        });
        // Registered before the store's own listener, so it runs first.
        if (onPanelMessage) {
          pair.panel.onMessage.addListener(onPanelMessage);
        }
        return pair.panel;
      },
    });
  }

  function postAnswer(
    answerId: string,
    post: (event: object) => void,
    deltas: string[],
  ): void {
    post({
      type: 'answer-route',
      answerId,
      tier: 'cheap',
      model: 'demo:gemini-3-flash',
      score: 0.1,
      reasons: ['short, general question'],
      fromCache: false,
      inputTokens: 20,
    });
    for (const text of deltas) {
      post({ type: 'answer-delta', answerId, text });
    }
    post({ type: 'answer-done', answerId, finishReason: 'stop' });
  }

  it('burst of deltas makes few updates', async () => {
    const deltas = Array.from({ length: 200 }, (_, index) => `w${index} `);
    const store = openPanel((answerId, post) => {
      for (const text of deltas) {
        post({ type: 'answer-delta', answerId, text });
      }
    });
    await store.getState().load();
    const texts: string[] = [];
    store.subscribe((state) => {
      const text = lastAnswer(state)?.text;
      if (text !== undefined && text !== texts.at(-1)) {
        texts.push(text);
      }
    });

    await store.getState().ask(QUESTION);
    const state = await waitForState(
      store,
      (current) => lastAnswer(current)?.text === deltas.join(''),
    );

    expect(lastAnswer(state)?.status).toBe('streaming');
    expect(texts.at(-1)).toBe(deltas.join(''));
    // One update per flush. The 200 deltas posted at once arrive within a
    // few flushes, where one update per delta would make 200.
    expect(texts.length).toBeLessThanOrEqual(10);
  });

  it('done never precedes its deltas', async () => {
    const deltas = ['Paris ', 'is ', 'the ', 'capital.'];
    const store = openPanel((answerId, post) =>
      postAnswer(answerId, post, deltas),
    );
    await store.getState().load();
    const textsWhenEnded: string[] = [];
    store.subscribe((state) => {
      const answer = lastAnswer(state);
      if (answer?.status === 'done') {
        textsWhenEnded.push(answer.text);
      }
    });

    await store.getState().ask(QUESTION);
    await waitForState(store, (state) => lastAnswer(state)?.status === 'done');

    expect(textsWhenEnded.length).toBeGreaterThan(0);
    expect(textsWhenEnded.every((text) => text === deltas.join(''))).toBe(true);
  });

  it('stores an answer that ends during ask', async () => {
    const deltas = ['Paris ', 'is ', 'the ', 'capital.'];
    // The background answers as soon as the ask arrives, while ask() is
    // still writing the conversation and the question to IndexedDB.
    const store = openPanel((answerId, post) =>
      postAnswer(answerId, post, deltas),
    );
    await store.getState().load();

    await store.getState().ask(QUESTION);
    const state = await waitForState(
      store,
      (current) => lastAnswer(current)?.status === 'done',
    );
    await store.getState().whenSaved();

    const answerId = lastAnswer(state)?.id as string;
    const stored = await database.messages.get(answerId);
    expect(stored?.status).toBe('done');
    expect(stored?.text).toBe(deltas.join(''));
    const storedQuestion = state.messages[0]?.id as string;
    expect((await database.messages.get(storedQuestion))?.text).toBe(QUESTION);
  });

  it('ask during load keeps its answer', async () => {
    const deltas = ['Paris ', 'is ', 'the ', 'capital.'];
    const reply = (answerId: string, post: (event: object) => void) =>
      postAnswer(answerId, post, deltas);
    const earlier = openPanel(reply);
    await earlier.getState().load();
    await earlier.getState().ask('An earlier question?');
    await waitForState(earlier, answerEnded);
    await earlier.getState().whenSaved();

    // A reopened panel starts loading the earlier conversation, and the
    // user sends before the load ends.
    const store = openPanel(reply);
    const messageCounts: number[] = [];
    store.subscribe((current) => {
      messageCounts.push(current.messages.length);
    });
    const loaded = store.getState().load();
    await store.getState().ask(QUESTION);
    await loaded;
    const state = await waitForState(store, answerEnded);

    expect(state.messages.map((message) => message.text)).toEqual([
      'An earlier question?',
      deltas.join(''),
      QUESTION,
      deltas.join(''),
    ]);
    expect(lastAnswer(state)?.status).toBe('done');
    // The question joined the loaded conversation instead of being
    // replaced by it.
    expect(Math.min(...messageCounts.slice(messageCounts.indexOf(4)))).toBe(4);
  });

  it('stop applies the deltas received before it', async () => {
    let deltaReceived!: () => void;
    const received = new Promise<void>((resolve) => (deltaReceived = resolve));
    const store = openPanel(
      (answerId, post) => {
        post({ type: 'answer-delta', answerId, text: 'Partial answer' });
      },
      (message) => {
        if ((message as { type: string }).type === 'answer-delta') {
          deltaReceived();
        }
      },
    );
    await store.getState().load();

    const asked = store.getState().ask(QUESTION);
    // The store's listener runs right after the one that resolved this, in
    // the same task, so the delta is waiting for its flush now.
    await received;
    const textBeforeStop = lastAnswer(store.getState())?.text;
    store.getState().stop();
    await asked;

    expect(textBeforeStop).toBe('');
    expect(lastAnswer(store.getState())?.text).toBe('Partial answer');
  });
});
