/**
 * A second connection to the store's database, for the dashboard's
 * read-only aggregate queries and the alert log. It opens the same SQLite
 * file or PostgreSQL database (and schema) that the store opens, so it
 * never goes through the Store interface.
 */
import Database from 'better-sqlite3';
import pg from 'pg';
import type { DatabaseLocation } from '../config';
import { splitSchemaParameter } from '../store/index';

/** A SQL value bound to a `?` placeholder. */
export type SqlValue = string | number | null;

/**
 * The small interface the dashboard, budgets and alerts run SQL through.
 * Statements use `?` placeholders, which the PostgreSQL side numbers.
 */
export interface SpendDatabase {
  /** Runs a SELECT and returns its rows. */
  all<Row>(sql: string, values?: readonly SqlValue[]): Promise<Row[]>;
  /** Runs a statement and returns how many rows it changed. */
  run(sql: string, values?: readonly SqlValue[]): Promise<number>;
  close(): Promise<void>;
}

/**
 * Opens a connection to the configured database. A SQLite ":memory:"
 * database cannot be shared, so it is rejected. Throws when the database
 * cannot be opened.
 */
export function openSpendDatabase(location: DatabaseLocation): SpendDatabase {
  if (location.kind === 'postgres') {
    return openPostgresSpendDatabase(location.url);
  }
  if (location.path === ':memory:') {
    throw new Error(
      'The spend dashboard needs a database file that a second connection can open; set TOKENWISE_DATABASE_URL to a file path instead of :memory:.',
    );
  }
  return openSqliteSpendDatabase(location.path);
}

function openSqliteSpendDatabase(file: string): SpendDatabase {
  const database = new Database(file, { fileMustExist: true });
  database.pragma('busy_timeout = 5000');
  return {
    all: <Row>(sql: string, values: readonly SqlValue[] = []) =>
      Promise.resolve(database.prepare(sql).all(...values) as Row[]),
    run: (sql: string, values: readonly SqlValue[] = []) =>
      Promise.resolve(database.prepare(sql).run(...values).changes),
    close: () => {
      database.close();
      return Promise.resolve();
    },
  };
}

function openPostgresSpendDatabase(databaseUrl: string): SpendDatabase {
  const { url, schema } = splitSchemaParameter(databaseUrl);
  const pool = new pg.Pool({
    connectionString: url,
    max: 2,
    ...(schema === undefined ? {} : { options: `-c search_path=${schema}` }),
  });
  return {
    all: async <Row>(sql: string, values: readonly SqlValue[] = []) => {
      const result = await pool.query(numberPlaceholders(sql), [...values]);
      return result.rows.map(convertBigIntegers) as Row[];
    },
    run: async (sql: string, values: readonly SqlValue[] = []) => {
      const result = await pool.query(numberPlaceholders(sql), [...values]);
      return result.rowCount ?? 0;
    },
    close: () => pool.end(),
  };
}

/** Rewrites `?` placeholders as `$1`, `$2`, ... for PostgreSQL. */
export function numberPlaceholders(sql: string): string {
  let index = 0;
  return sql.replace(/\?/g, () => `$${++index}`);
}

/** pg returns BIGINT and SUM() as strings; the sums here fit in a double. */
function convertBigIntegers(row: Record<string, unknown>): unknown {
  const converted: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row)) {
    converted[key] =
      typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value)
        ? Number(value)
        : value;
  }
  return converted;
}
