import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TokenwiseDatabase } from '../../../lib/extension/database';
import {
  collectConversations,
  formatConversationsJson,
  formatConversationsMarkdown,
} from '../../../lib/extension/export-conversations';

const CREATED = Date.parse('2026-03-01T10:00:00Z');

describe('conversation export', () => {
  let database: TokenwiseDatabase;

  beforeEach(async () => {
    database = new TokenwiseDatabase(`test-${randomUUID()}`);
    await database.conversations.put({
      id: 'c1',
      title: 'France',
      createdAt: CREATED,
      updatedAt: CREATED,
    });
    await database.messages.bulkPut([
      {
        id: 'a',
        conversationId: 'c1',
        position: 1,
        role: 'assistant',
        text: 'Paris.',
        createdAt: CREATED,
        status: 'done',
        answer: {
          tier: 'cheap',
          model: 'demo:flash',
          score: 0.1,
          reasons: [],
          fromCache: false,
          charged: 12,
        },
      },
      {
        id: 'q',
        conversationId: 'c1',
        position: 0,
        role: 'user',
        text: 'Capital of France?',
        createdAt: CREATED,
      },
    ]);
  });

  afterEach(async () => {
    await database.delete();
  });

  it('collects messages in order', async () => {
    const [conversation] = await collectConversations(database);
    expect(conversation?.title).toBe('France');
    expect(conversation?.messages.map((message) => message.text)).toEqual([
      'Capital of France?',
      'Paris.',
    ]);
    expect(conversation?.messages[1]?.charged).toBe(12);
  });

  it('formats JSON with a version', async () => {
    const json = JSON.parse(
      formatConversationsJson(
        await collectConversations(database),
        new Date(CREATED),
      ),
    );
    expect(json.format).toBe('tokenwise-conversations');
    expect(json.version).toBe(1);
    expect(json.conversations).toHaveLength(1);
  });

  it('formats Markdown sections', async () => {
    const markdown = formatConversationsMarkdown(
      await collectConversations(database),
    );
    expect(markdown).toContain('## France');
    expect(markdown).toContain('**You:**\n\nCapital of France?');
    expect(markdown).toContain('**Tokenwise (demo:flash, cheap):**\n\nParis.');
  });
});
