/** Deleting the extension's data, in the browser and on the backend, for the options page. */
import { browser } from 'wxt/browser';
import type { DeleteInstallResponse } from '../protocol';
import type { BackendClient } from './backend-client';
import type { TokenwiseDatabase } from './database';
import { clearInstall } from './install-store';
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

/** The outcome of deleteAllData. */
export interface AllDataDeletion {
  /** The backend's report, or undefined when this browser had no install there. */
  server: DeleteInstallResponse | undefined;
  /** The install registered afterwards, when registering worked. */
  newInstallId?: string;
  /** The error message of a failed registration; the next question retries it. */
  registrationError?: string;
}

/**
 * Deletes this install's data on the backend, then everything stored in
 * this browser (conversations, cached answers, usage mirror and the old
 * registration), then registers a new install so the extension keeps
 * working. The settings stay. When the backend deletion fails, it throws
 * before anything local is deleted, so the user can retry.
 */
export async function deleteAllData(options: {
  database: TokenwiseDatabase;
  client: BackendClient;
}): Promise<AllDataDeletion> {
  const server = await options.client.deleteInstallData();

  await clearLocalData(options.database);
  await clearInstall();

  try {
    const install = await options.client.register();
    return { server, newInstallId: install.installId };
  } catch (error) {
    return {
      server,
      registrationError: error instanceof Error ? error.message : String(error),
    };
  }
}
