/** Listing, renaming, deleting and pruning the side panel's conversations. */
import type { ConversationRecord, TokenwiseDatabase } from './database';

const DAY_MS = 24 * 60 * 60 * 1000;

/** Maximum characters of a conversation title. */
export const TITLE_CHARS = 80;

/** Lists conversations, most recently updated first. */
export async function listConversations(
  database: TokenwiseDatabase,
): Promise<ConversationRecord[]> {
  return database.conversations.orderBy('updatedAt').reverse().toArray();
}

/**
 * Renames a conversation. The title is trimmed and cut to TITLE_CHARS;
 * a blank title is ignored and returns false.
 */
export async function renameConversation(
  database: TokenwiseDatabase,
  conversationId: string,
  title: string,
): Promise<boolean> {
  const trimmed = title.trim().slice(0, TITLE_CHARS);
  if (trimmed === '') {
    return false;
  }
  const updated = await database.conversations.update(conversationId, {
    title: trimmed,
  });
  return updated === 1;
}

/** Deletes a conversation and its messages. */
export async function deleteConversation(
  database: TokenwiseDatabase,
  conversationId: string,
): Promise<void> {
  await database.transaction(
    'rw',
    database.conversations,
    database.messages,
    async () => {
      await database.messages
        .where('conversationId')
        .equals(conversationId)
        .delete();
      await database.conversations.delete(conversationId);
    },
  );
}

/**
 * Deletes conversations not updated for `retentionDays` days, with their
 * messages. Zero days keeps everything. Returns the number deleted.
 */
export async function pruneConversations(
  database: TokenwiseDatabase,
  retentionDays: number,
  now: number,
): Promise<number> {
  if (retentionDays <= 0) {
    return 0;
  }
  const cutoff = now - retentionDays * DAY_MS;
  const stale = await database.conversations
    .where('updatedAt')
    .below(cutoff)
    .primaryKeys();
  for (const conversationId of stale) {
    await deleteConversation(database, conversationId);
  }
  return stale.length;
}
