import { describe, expect, it } from 'vitest';
import { buildRequestHistory } from '../../../lib/extension/conversation-history';
import type { MessageRecord } from '../../../lib/extension/database';
import { REQUEST_LIMITS } from '../../../lib/protocol';

let nextPosition = 0;

function message(
  role: MessageRecord['role'],
  text: string,
  overrides: Partial<MessageRecord> = {},
): MessageRecord {
  const position = nextPosition++;
  return {
    id: `message-${position}`,
    conversationId: 'conversation-1',
    position,
    role,
    text,
    createdAt: position,
    ...(role === 'assistant' ? { status: 'done' as const } : {}),
    ...overrides,
  };
}

describe('buildRequestHistory', () => {
  it('pairs questions with answers', () => {
    const messages = [
      message('user', 'Hi'),
      message('assistant', 'Hello!'),
      message('user', 'How are you?'),
      message('assistant', 'Fine.'),
    ];
    expect(buildRequestHistory(messages)).toEqual([
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello!' },
      { role: 'user', content: 'How are you?' },
      { role: 'assistant', content: 'Fine.' },
    ]);
  });

  it('drops a question whose answer has no text', () => {
    const messages = [
      message('user', 'Hi'),
      message('assistant', '', { status: 'error' }),
      message('user', 'Hi again'),
      message('assistant', 'Hello!'),
    ];
    expect(buildRequestHistory(messages)).toEqual([
      { role: 'user', content: 'Hi again' },
      { role: 'assistant', content: 'Hello!' },
    ]);
  });

  it('keeps the partial text of a stopped answer', () => {
    const messages = [
      message('user', 'Tell me a story'),
      message('assistant', 'Once upon', { status: 'stopped' }),
    ];
    expect(buildRequestHistory(messages)).toEqual([
      { role: 'user', content: 'Tell me a story' },
      { role: 'assistant', content: 'Once upon' },
    ]);
  });

  it('orders by position', () => {
    const question = message('user', 'Hi');
    const answer = message('assistant', 'Hello!');
    expect(buildRequestHistory([answer, question])).toHaveLength(2);
  });

  it('keeps the latest turns within the limit', () => {
    const messages: MessageRecord[] = [];
    for (let turn = 0; turn < REQUEST_LIMITS.historyMessages; turn++) {
      messages.push(
        message('user', `Q${turn}`),
        message('assistant', `A${turn}`),
      );
    }
    const history = buildRequestHistory(messages);

    expect(history).toHaveLength(REQUEST_LIMITS.historyMessages);
    expect(history[0]).toEqual({
      role: 'user',
      content: `Q${REQUEST_LIMITS.historyMessages / 2}`,
    });
    expect(history.at(-1)?.content).toBe(
      `A${REQUEST_LIMITS.historyMessages - 1}`,
    );
  });

  it('cuts an over-long text at the limit', () => {
    const long = 'x'.repeat(REQUEST_LIMITS.messageChars + 10);
    const history = buildRequestHistory([
      message('user', 'Repeat x'),
      message('assistant', long),
    ]);
    expect(history[1]?.content).toHaveLength(REQUEST_LIMITS.messageChars);
  });
});
