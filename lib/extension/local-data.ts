/** Deleting the extension's local data, for the options page. */
import { browser } from 'wxt/browser';
import type { TokenwiseDatabase } from './database';
import {
  CURRENT_CONVERSATION_STORAGE_KEY,
  ROUTE_MODELS_STORAGE_KEY,
  USAGE_STORAGE_KEY,
} from './storage-keys';

/**
 * Deletes the conversations, the cached answers and the usage mirror. The
 * install's registration stays, so the allowance carries on; the usage
 * mirror is fetched again the next time the popup opens.
 */
export async function clearLocalData(
  database: TokenwiseDatabase,
): Promise<void> {
  await database.transaction(
    'rw',
    [database.answers, database.conversations, database.messages],
    async () => {
      await database.answers.clear();
      await database.conversations.clear();
      await database.messages.clear();
    },
  );
  await browser.storage.local.remove([
    USAGE_STORAGE_KEY,
    ROUTE_MODELS_STORAGE_KEY,
    CURRENT_CONVERSATION_STORAGE_KEY,
  ]);
}
