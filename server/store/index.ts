/**
 * Opens the store that TOKENWISE_DATABASE_URL names.
 */
import type { DatabaseLocation } from '../config';
import { openSqliteStore } from './sqlite';
import type { Plan, Store } from './types';

export type { Store } from './types';

export interface OpenStoreOptions {
  database: DatabaseLocation;
  plans: Readonly<Record<string, Plan>>;
}

/**
 * Opens and migrates the configured store. Throws for a PostgreSQL URL,
 * which this version does not support yet.
 */
export async function openStore(options: OpenStoreOptions): Promise<Store> {
  if (options.database.kind === 'postgres') {
    // TODO: a PostgreSQL store that passes the same ledger tests.
    throw new Error(
      'TOKENWISE_DATABASE_URL names a PostgreSQL database, which this version does not support yet; use a SQLite file path such as data/tokenwise.db.',
    );
  }
  return openSqliteStore({
    path: options.database.path,
    plans: options.plans,
  });
}
