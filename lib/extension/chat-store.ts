/**
 * The side panel's chat state (a Zustand store without React): the current
 * conversation, its messages as they stream, and their persistence in
 * IndexedDB so the conversation survives closing the panel.
 */
import { Dexie } from 'dexie';
import { browser } from 'wxt/browser';
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { PageContext } from '../protocol';
import type { ChatPort } from './chat-port';
import { buildRequestHistory } from './conversation-history';
import {
  TITLE_CHARS,
  deleteConversation,
  listConversations,
  pruneConversations,
  renameConversation,
} from './conversations';
import type {
  AnswerError,
  ConversationRecord,
  MessageRecord,
  TokenwiseDatabase,
} from './database';
import { debugLog } from './debug-log';
import { describeError } from './error-messages';
import {
  parseAnswerEvent,
  type AnswerEvent,
  type PanelMessageInput,
} from './port-messages';
import { readSettings } from './settings';
import { CURRENT_CONVERSATION_STORAGE_KEY } from './storage-keys';

/** Options of one question. */
export interface AskOptions {
  /** `premium` asks for the premium model for this question only. */
  tier?: 'premium';
  /** The page the question is about, with its estimated tokens. */
  page?: PageContext & { tokens: number };
}

export interface ChatState {
  /** `loading` until the stored conversation is read. */
  phase: 'loading' | 'ready';
  conversationId: string | undefined;
  /** Messages of the current conversation, in order. */
  messages: MessageRecord[];
  /** All conversations, most recently updated first. */
  conversations: ConversationRecord[];
  /** A sentence about a failure outside any one answer. */
  notice: string | undefined;
}

export interface ChatActions {
  /** Loads the latest conversation; answers left streaming become stopped. */
  load(): Promise<void>;
  /** Sends a question; ignored when empty or while an answer streams. */
  ask(question: string, options?: AskOptions): Promise<void>;
  /** Asks an answered question again on the premium model, in place. */
  retryWithPremium(answerId: string): Promise<void>;
  /** Takes the earlier answer offered for a similar question. */
  useOffer(answerId: string): Promise<void>;
  /** Declines an offered earlier answer and asks the backend. */
  askAnyway(answerId: string): Promise<void>;
  /** Shows another conversation. */
  switchConversation(conversationId: string): Promise<void>;
  renameConversation(conversationId: string, title: string): Promise<void>;
  /** Deletes a conversation; deleting the current one starts a new chat. */
  deleteConversation(conversationId: string): Promise<void>;
  /** Sends a stop request for the streaming answer to the background. */
  stop(): void;
  /** Starts an empty conversation. */
  startConversation(): Promise<void>;
  /** Resolves once every change so far is stored in IndexedDB. */
  whenSaved(): Promise<void>;
}

export type ChatStore = StoreApi<ChatState & ChatActions>;

export interface ChatStoreOptions {
  database: TokenwiseDatabase;
  /** Opens a chat port to the background. */
  connect: () => ChatPort;
  backendUrl: string;
  /** Clock in milliseconds since the epoch. */
  now?: () => number;
  createId?: () => string;
}

/**
 * Maximum time a received delta waits to reach the state, in milliseconds,
 * when no animation frame comes first (a hidden page, or no DOM at all).
 */
export const DELTA_FLUSH_TIMEOUT_MS = 50;

/** Returns whether a message is an answer still streaming. */
export function isStreaming(message: MessageRecord): boolean {
  return message.role === 'assistant' && message.status === 'streaming';
}

/** Creates the chat store of one side panel. */
export function createChatStore(options: ChatStoreOptions): ChatStore {
  const { database } = options;
  const now = options.now ?? Date.now;
  const createId = options.createId ?? (() => crypto.randomUUID());
  const saver = createMessageSaver(database);
  let port: ChatPort | undefined;
  let loading: Promise<void> | undefined;

  return createStore<ChatState & ChatActions>()((set, get) => {
    const updateMessage = (
      answerId: string,
      change: (message: MessageRecord) => MessageRecord,
    ) => {
      const current = get().messages.find((message) => message.id === answerId);
      if (!current) {
        return;
      }
      const updated = change(current);
      set({
        messages: get().messages.map((message) =>
          message.id === answerId ? updated : message,
        ),
      });
      saver.save(updated);
    };

    // Deltas collect here and reach the state once per animation frame, so
    // a burst of deltas costs one render instead of one per delta.
    const pendingDeltas = new Map<string, string>();
    let deltaFrame: number | undefined;
    let deltaTimer: ReturnType<typeof setTimeout> | undefined;

    const flushDeltas = () => {
      if (deltaFrame !== undefined) {
        cancelAnimationFrame(deltaFrame);
        deltaFrame = undefined;
      }
      if (deltaTimer !== undefined) {
        clearTimeout(deltaTimer);
        deltaTimer = undefined;
      }
      const deltas = [...pendingDeltas];
      pendingDeltas.clear();
      for (const [answerId, text] of deltas) {
        updateMessage(answerId, (message) => ({
          ...message,
          text: message.text + text,
        }));
      }
    };

    const queueDelta = (answerId: string, text: string) => {
      pendingDeltas.set(answerId, (pendingDeltas.get(answerId) ?? '') + text);
      if (deltaTimer !== undefined) {
        return;
      }
      // The frame callback runs just before the page paints, so the text
      // shows in the first frame after it arrived. The timer covers pages
      // that draw no frames.
      if (typeof requestAnimationFrame === 'function') {
        deltaFrame = requestAnimationFrame(flushDeltas);
      }
      deltaTimer = setTimeout(flushDeltas, DELTA_FLUSH_TIMEOUT_MS);
    };

    const failStreamingAnswers = (error: AnswerError) => {
      flushDeltas();
      for (const message of get().messages.filter(isStreaming)) {
        updateMessage(message.id, (answer) => ({
          ...answer,
          status: 'error',
          error,
        }));
      }
    };

    const handleEvent = (value: unknown) => {
      let event: AnswerEvent;
      try {
        event = parseAnswerEvent(value);
      } catch (error) {
        debugLog('chat', 'event rejected', { error: String(error) });
        set({ notice: (error as Error).message });
        return;
      }
      if (event.type === 'answer-delta') {
        queueDelta(event.answerId, event.text);
        return;
      }
      // Every other event comes after the deltas before it.
      flushDeltas();
      if (event.type === 'message-rejected') {
        set({ notice: event.message });
        if (event.answerId !== undefined) {
          updateMessage(event.answerId, (message) => ({
            ...message,
            status: 'error',
            error: { code: 'extension_failed', message: event.message },
          }));
        }
        return;
      }
      applyAnswerEvent(event, updateMessage);
    };

    const ensurePort = (): ChatPort => {
      if (port) {
        return port;
      }
      const connected = options.connect();
      connected.onMessage.addListener(handleEvent);
      connected.onDisconnect.addListener(() => {
        if (port === connected) {
          port = undefined;
        }
        failStreamingAnswers({
          code: 'background_disconnected',
          message: describeError(
            { code: 'background_disconnected' },
            { backendUrl: options.backendUrl },
          ),
        });
      });
      port = connected;
      return connected;
    };

    const post = (message: PanelMessageInput) => {
      try {
        ensurePort().postMessage(message);
        return true;
      } catch (error) {
        debugLog('chat', 'post failed', { error: String(error) });
        port = undefined;
        return false;
      }
    };

    const refreshConversations = async () => {
      set({ conversations: await listConversations(database) });
    };

    /**
     * Replaces an answer with an empty streaming one at the same place, on
     * another tier when given. The new answer gets a new id, because the
     * background may still be finishing the old one. Returns the new id, or
     * undefined while another answer streams.
     */
    const restartAnswer = (
      answerId: string,
      tier?: 'premium',
    ): string | undefined => {
      flushDeltas();
      const messages = get().messages;
      const previous = messages.find((message) => message.id === answerId);
      if (!previous || messages.some(isStreaming)) {
        return undefined;
      }
      const restarted: MessageRecord = {
        id: createId(),
        conversationId: previous.conversationId,
        position: previous.position,
        role: 'assistant',
        text: '',
        createdAt: now(),
        status: 'streaming',
        requestedTier: tier ?? previous.requestedTier,
      };
      set({
        messages: messages.map((message) =>
          message.id === answerId ? restarted : message,
        ),
      });
      saver.save(restarted);
      database.messages.delete(answerId).catch((error: unknown) =>
        debugLog('chat', 'deleting an answer failed', {
          error: String(error),
        }),
      );
      return restarted.id;
    };

    /**
     * Posts an `ask` for a streaming answer record: its question is the
     * message before it, and the history is everything before that.
     */
    const sendAsk = (
      answerId: string,
      extra: { offerSimilar?: boolean; similarKey?: string },
    ) => {
      const messages = get().messages;
      const index = messages.findIndex((message) => message.id === answerId);
      const answer = messages[index];
      const question = messages[index - 1];
      if (!answer || !isStreaming(answer) || question?.role !== 'user') {
        return;
      }
      const page = question.page;
      const sent = post({
        type: 'ask',
        answerId,
        conversationId: answer.conversationId,
        question: question.text,
        history: buildRequestHistory(messages.slice(0, index - 1)),
        tier: answer.requestedTier ?? 'auto',
        pageContext: page
          ? { title: page.title, url: page.url, text: page.text }
          : undefined,
        ...extra,
      });
      if (!sent) {
        failStreamingAnswers({
          code: 'background_disconnected',
          message: describeError(
            { code: 'background_disconnected' },
            { backendUrl: options.backendUrl },
          ),
        });
      }
    };

    const loadConversation = async () => {
      const settings = await readSettings();
      await pruneConversations(database, settings.historyRetentionDays, now());
      await refreshConversations();
      const conversation = await findCurrentConversation(database);
      if (!conversation) {
        set({ phase: 'ready', conversationId: undefined, messages: [] });
        return;
      }
      const messages = await readMessages(database, conversation.id);
      const repaired = messages.map((message) =>
        isStreaming(message)
          ? { ...message, status: 'stopped' as const }
          : message,
      );
      await database.messages.bulkPut(
        repaired.filter((message, index) => message !== messages[index]),
      );
      set({
        phase: 'ready',
        conversationId: conversation.id,
        messages: repaired,
      });
    };

    return {
      phase: 'loading',
      conversationId: undefined,
      messages: [],
      conversations: [],
      notice: undefined,

      load() {
        loading = loadConversation();
        return loading;
      },

      async ask(question, askOptions = {}) {
        // A question sent while the stored conversation loads waits for it,
        // because the load would replace the messages the question adds.
        await loading?.catch(() => undefined);
        const text = question.trim();
        const state = get();
        if (text === '' || state.messages.some(isStreaming)) {
          return;
        }

        // The messages go into the state before any further await, so a second
        // ask in the same moment sees the first one streaming.
        const timestamp = now();
        const isNewConversation = state.conversationId === undefined;
        const conversationId = state.conversationId ?? createId();
        const position = state.messages.length;
        const questionRecord: MessageRecord = {
          id: createId(),
          conversationId,
          position,
          role: 'user',
          text,
          createdAt: timestamp,
          page: askOptions.page,
        };
        const answerRecord: MessageRecord = {
          id: createId(),
          conversationId,
          position: position + 1,
          role: 'assistant',
          text: '',
          createdAt: timestamp,
          status: 'streaming',
          requestedTier: askOptions.tier ?? 'auto',
        };
        set({
          conversationId,
          notice: undefined,
          messages: [...state.messages, questionRecord, answerRecord],
        });
        // The question goes out before the writes to IndexedDB, which would
        // otherwise delay its first token. The saver writes the two records
        // before any later version of the answer, so none is overwritten.
        sendAsk(answerRecord.id, {});
        saver.save(questionRecord);
        saver.save(answerRecord);

        if (isNewConversation) {
          await database.conversations.put({
            id: conversationId,
            title: text.slice(0, TITLE_CHARS),
            createdAt: timestamp,
            updatedAt: timestamp,
          });
          await writeCurrentConversation(conversationId);
        } else {
          await database.conversations.update(conversationId, {
            updatedAt: timestamp,
          });
        }
        await refreshConversations();
        await saver.flush();
      },

      async retryWithPremium(answerId) {
        const restartedId = restartAnswer(answerId, 'premium');
        if (restartedId) {
          sendAsk(restartedId, { offerSimilar: false });
        }
        await saver.flush();
      },

      async useOffer(answerId) {
        const offer = get().messages.find(
          (message) => message.id === answerId,
        )?.offer;
        if (!offer) {
          return;
        }
        const restartedId = restartAnswer(answerId);
        if (restartedId) {
          sendAsk(restartedId, { similarKey: offer.cacheKey });
        }
        await saver.flush();
      },

      async askAnyway(answerId) {
        const restartedId = restartAnswer(answerId);
        if (restartedId) {
          sendAsk(restartedId, { offerSimilar: false });
        }
        await saver.flush();
      },

      async switchConversation(conversationId) {
        if (get().messages.some(isStreaming)) {
          get().stop();
        }
        flushDeltas();
        await saver.flush();
        const messages = await readMessages(database, conversationId);
        await writeCurrentConversation(conversationId);
        set({ conversationId, messages, notice: undefined });
      },

      async renameConversation(conversationId, title) {
        await renameConversation(database, conversationId, title);
        await refreshConversations();
      },

      async deleteConversation(conversationId) {
        if (conversationId === get().conversationId) {
          await get().startConversation();
        }
        await deleteConversation(database, conversationId);
        await refreshConversations();
      },

      stop() {
        flushDeltas();
        for (const message of get().messages.filter(isStreaming)) {
          const sent =
            port !== undefined && post({ type: 'stop', answerId: message.id });
          if (!sent) {
            updateMessage(message.id, (answer) => ({
              ...answer,
              status: 'stopped',
            }));
          }
        }
      },

      async startConversation() {
        if (get().messages.some(isStreaming)) {
          get().stop();
        }
        flushDeltas();
        await saver.flush();
        await writeCurrentConversation(NEW_CHAT);
        set({ conversationId: undefined, messages: [], notice: undefined });
      },

      whenSaved() {
        flushDeltas();
        return saver.flush();
      },
    };
  });
}

/** Applies one answer event to the answer it belongs to. */
function applyAnswerEvent(
  event: Exclude<AnswerEvent, { type: 'message-rejected' | 'answer-delta' }>,
  updateMessage: (
    answerId: string,
    change: (message: MessageRecord) => MessageRecord,
  ) => void,
): void {
  switch (event.type) {
    case 'answer-route':
      updateMessage(event.answerId, (message) => ({
        ...message,
        answer: {
          tier: event.tier,
          model: event.model,
          score: event.score,
          reasons: event.reasons,
          fromCache: event.fromCache,
          inputTokens: event.inputTokens,
          context: event.context,
        },
      }));
      break;
    case 'answer-usage':
      updateMessage(event.answerId, (message) =>
        message.answer
          ? {
              ...message,
              answer: {
                ...message.answer,
                fromCache: event.fromCache,
                inputTokens: event.inputTokens,
                outputTokens: event.outputTokens,
                charged: event.charged,
                estimated: event.estimated,
              },
            }
          : message,
      );
      break;
    case 'answer-done':
      updateMessage(event.answerId, (message) => ({
        ...message,
        status: 'done',
      }));
      break;
    case 'answer-error':
      updateMessage(event.answerId, (message) => ({
        ...message,
        status: 'error',
        error: {
          code: event.code,
          message: event.message,
          resetAt: event.resetAt,
        },
      }));
      break;
    case 'answer-stopped':
      updateMessage(event.answerId, (message) => ({
        ...message,
        status: 'stopped',
      }));
      break;
    case 'answer-similar':
      updateMessage(event.answerId, (message) => ({
        ...message,
        status: 'offered',
        offer: {
          question: event.question,
          cacheKey: event.cacheKey,
          score: event.score,
        },
      }));
      break;
  }
}

// The current conversation id in storage.local, where an empty string
// stands for a new chat that has no messages yet.
const NEW_CHAT = '';

/**
 * Finds the conversation the panel showed last: the stored current one,
 * none after "New chat", or else the most recently updated one.
 */
async function findCurrentConversation(
  database: TokenwiseDatabase,
): Promise<ConversationRecord | undefined> {
  const stored = await browser.storage.local.get(
    CURRENT_CONVERSATION_STORAGE_KEY,
  );
  const current: unknown = stored[CURRENT_CONVERSATION_STORAGE_KEY];
  if (current === NEW_CHAT) {
    return undefined;
  }
  if (typeof current === 'string') {
    const conversation = await database.conversations.get(current);
    if (conversation) {
      return conversation;
    }
  }
  return database.conversations.orderBy('updatedAt').last();
}

/** Stores the current conversation id, or NEW_CHAT for a new empty chat. */
async function writeCurrentConversation(conversationId: string): Promise<void> {
  await browser.storage.local.set({
    [CURRENT_CONVERSATION_STORAGE_KEY]: conversationId,
  });
}

async function readMessages(
  database: TokenwiseDatabase,
  conversationId: string,
): Promise<MessageRecord[]> {
  return database.messages
    .where('[conversationId+position]')
    .between([conversationId, Dexie.minKey], [conversationId, Dexie.maxKey])
    .toArray();
}

/**
 * Saves messages to IndexedDB, coalescing the many small updates of a
 * streaming answer: while one write is in flight, the latest version of
 * each changed message waits and goes in the next write.
 */
function createMessageSaver(database: TokenwiseDatabase) {
  const pending = new Map<string, MessageRecord>();
  let writing: Promise<void> | undefined;

  const writePending = async () => {
    try {
      while (pending.size > 0) {
        const batch = [...pending.values()];
        pending.clear();
        await database.messages.bulkPut(batch);
      }
    } catch (error) {
      debugLog('chat', 'saving messages failed', { error: String(error) });
    } finally {
      writing = undefined;
    }
  };

  return {
    save(message: MessageRecord) {
      pending.set(message.id, message);
      writing ??= writePending();
    },
    async flush() {
      while (writing) {
        await writing;
      }
    },
  };
}
