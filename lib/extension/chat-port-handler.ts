/**
 * The background's end of the side panel's chat port: it handles each
 * `ask`, aborts on `stop`, and aborts everything when the panel closes.
 */
import {
  answerQuestion,
  type AnswerOutcome,
  type AnswerServices,
} from './answer-question';
import type { ChatPort } from './chat-port';
import { debugLog } from './debug-log';
import { parsePanelMessage, type AnswerEvent } from './port-messages';

export interface ChatPortSession {
  /** Resolves when every answer started on this port has ended. */
  whenIdle(): Promise<void>;
}

/**
 * Serves one chat port. Invalid messages get a `message-rejected` reply
 * naming the fields at fault; an `ask` with an id already streaming is
 * rejected the same way.
 */
export function serveChatPort(
  port: ChatPort,
  services: AnswerServices,
): ChatPortSession {
  const running = new Map<string, AbortController>();
  const answers = new Set<Promise<AnswerOutcome>>();
  let connected = true;

  const post = (event: AnswerEvent) => {
    if (!connected) {
      return;
    }
    try {
      port.postMessage(event);
    } catch (error) {
      // The panel closed between our check and the post.
      connected = false;
      debugLog('chat-port', 'post failed', { error: String(error) });
    }
  };

  port.onMessage.addListener((value) => {
    let message;
    try {
      message = parsePanelMessage(value);
    } catch (error) {
      post({
        type: 'message-rejected',
        answerId: readAnswerId(value),
        message: (error as Error).message,
      });
      return;
    }

    if (message.type === 'stop') {
      running.get(message.answerId)?.abort();
      return;
    }
    if (running.has(message.answerId)) {
      post({
        type: 'message-rejected',
        message: `Answer ${message.answerId} is already streaming; send each question with a new answerId.`,
      });
      return;
    }

    const controller = new AbortController();
    running.set(message.answerId, controller);
    const answer = answerQuestion({
      request: message,
      services,
      signal: controller.signal,
      emit: post,
    }).finally(() => {
      running.delete(message.answerId);
      answers.delete(answer);
    });
    answers.add(answer);
  });

  port.onDisconnect.addListener(() => {
    connected = false;
    for (const controller of running.values()) {
      controller.abort();
    }
  });

  return {
    async whenIdle() {
      while (answers.size > 0) {
        await Promise.allSettled([...answers]);
      }
    },
  };
}

/** Reads a string `answerId` from a message that failed validation. */
function readAnswerId(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || !('answerId' in value)) {
    return undefined;
  }
  return typeof value.answerId === 'string' ? value.answerId : undefined;
}
