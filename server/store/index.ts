/**
 * Opens the store that TOKENWISE_DATABASE_URL names: a SQLite file, or a
 * PostgreSQL database for several backend processes.
 */
import type { DatabaseLocation } from '../config';
import { openPostgresStore } from './postgres';
import { openSqliteStore } from './sqlite';
import type { Plan, Store } from './types';

export type { Store } from './types';

export interface OpenStoreOptions {
  database: DatabaseLocation;
  plans: Readonly<Record<string, Plan>>;
}

/**
 * Opens and migrates the configured store. A PostgreSQL URL may carry
 * `?schema=NAME` to keep the tables in that schema, created when missing.
 * Throws when the database cannot be opened or migrated.
 */
export async function openStore(options: OpenStoreOptions): Promise<Store> {
  if (options.database.kind === 'postgres') {
    const { url, schema } = splitSchemaParameter(options.database.url);
    return openPostgresStore({ url, schema, plans: options.plans });
  }
  return openSqliteStore({
    path: options.database.path,
    plans: options.plans,
  });
}

/** Removes the `schema` query parameter, which is not a libpq parameter. */
export function splitSchemaParameter(url: string): {
  url: string;
  schema: string | undefined;
} {
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema') ?? undefined;
  parsed.searchParams.delete('schema');
  return { url: parsed.toString(), schema };
}
