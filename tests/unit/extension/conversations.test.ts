import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  TITLE_CHARS,
  deleteConversation,
  listConversations,
  pruneConversations,
  renameConversation,
} from '../../../lib/extension/conversations';
import { TokenwiseDatabase } from '../../../lib/extension/database';

const DAY_MS = 24 * 60 * 60 * 1000;
const NOW = Date.parse('2026-03-01T12:00:00Z');

describe('conversations', () => {
  let database: TokenwiseDatabase;

  beforeEach(async () => {
    database = new TokenwiseDatabase(`test-${randomUUID()}`);
    for (const [id, ageDays] of [
      ['old', 40],
      ['recent', 2],
    ] as const) {
      const updatedAt = NOW - ageDays * DAY_MS;
      await database.conversations.put({
        id,
        title: id,
        createdAt: updatedAt,
        updatedAt,
      });
      await database.messages.put({
        id: `${id}-question`,
        conversationId: id,
        position: 0,
        role: 'user',
        text: 'Hello',
        createdAt: updatedAt,
      });
    }
  });

  afterEach(async () => {
    await database.delete();
  });

  it('lists the latest first', async () => {
    const ids = (await listConversations(database)).map((entry) => entry.id);
    expect(ids).toEqual(['recent', 'old']);
  });

  it('prunes conversations past retention', async () => {
    expect(await pruneConversations(database, 30, NOW)).toBe(1);
    expect(await database.conversations.get('old')).toBeUndefined();
    expect(await database.messages.get('old-question')).toBeUndefined();
    expect(await database.conversations.get('recent')).toBeDefined();
  });

  it('keeps everything with zero retention', async () => {
    expect(await pruneConversations(database, 0, NOW)).toBe(0);
    expect(await database.conversations.count()).toBe(2);
  });

  it('renames with a trimmed, capped title', async () => {
    expect(
      await renameConversation(database, 'old', ` ${'x'.repeat(200)} `),
    ).toBe(true);
    expect((await database.conversations.get('old'))?.title).toHaveLength(
      TITLE_CHARS,
    );
  });

  it('ignores a blank title', async () => {
    expect(await renameConversation(database, 'old', '   ')).toBe(false);
    expect((await database.conversations.get('old'))?.title).toBe('old');
  });

  it('deletes a conversation with its messages', async () => {
    await deleteConversation(database, 'recent');
    expect(await database.conversations.count()).toBe(1);
    expect(await database.messages.get('recent-question')).toBeUndefined();
  });
});
