/** Deleting the extension's local data, for the options page. */
import { browser } from 'wxt/browser';
import type { TokenwiseDatabase } from './database';
import {
  CURRENT_CONVERSATION_STORAGE_KEY,
  PENDING_SELECTION_STORAGE_KEY,
  QUESTION_STATS_STORAGE_KEY,
  ROUTE_MODELS_STORAGE_KEY,
  USAGE_STORAGE_KEY,
} from './storage-keys';

/**
 * Deletes the conversations, the cached answers and their counters, the
 * usage mirror and the question counts. The settings and the install's
 * registration stay, so the allowance carries on; the usage
 * mirror is fetched again the next time the popup opens.
 */
export async function clearLocalData(
  database: TokenwiseDatabase,
): Promise<void> {
  await database.transaction(
    'rw',
    [
      database.answers,
      database.conversations,
      database.messages,
      database.counters,
    ],
    async () => {
      await database.answers.clear();
      await database.counters.clear();
      await database.conversations.clear();
      await database.messages.clear();
    },
  );
  await browser.storage.local.remove([
    USAGE_STORAGE_KEY,
    ROUTE_MODELS_STORAGE_KEY,
    CURRENT_CONVERSATION_STORAGE_KEY,
    QUESTION_STATS_STORAGE_KEY,
    PENDING_SELECTION_STORAGE_KEY,
  ]);
}
