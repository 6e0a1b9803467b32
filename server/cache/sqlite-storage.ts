/**
 * Answer cache storage in SQLite: its own table in the ledger's database
 * file, opened on its own connection. The cache is disposable, so a table
 * written under another layout version is dropped and created again.
 */
import Database from 'better-sqlite3';
import type { AnswerCacheStorage, CachedAnswer } from './types';

/**
 * Layout version of the answer_cache table. Version 2 added install_id,
 * the install whose request created an entry.
 */
export const SQLITE_CACHE_VERSION = '2';

/** Expired rows are deleted on every this many writes. */
const PURGE_EVERY_WRITES = 100;

/** Opens (and creates when missing) the answer cache table in a SQLite file. */
export function openSqliteAnswerCache(path: string): AnswerCacheStorage {
  const database = new Database(path);
  database.pragma('journal_mode = WAL');
  // The ledger writes to the same file; wait for its lock instead of failing.
  database.pragma('busy_timeout = 5000');
  prepareTables(database);

  const select = database.prepare<[string, number], { entry: string }>(
    'SELECT entry FROM answer_cache WHERE key = ? AND expires_at > ?',
  );
  const upsert = database.prepare<
    [string, string, number, number, string | null]
  >(
    `INSERT INTO answer_cache (key, entry, created_at, expires_at, install_id)
     VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (key) DO UPDATE SET
       entry = excluded.entry,
       created_at = excluded.created_at,
       expires_at = excluded.expires_at,
       install_id = excluded.install_id`,
  );
  const deleteInstall = database.prepare<[string]>(
    'DELETE FROM answer_cache WHERE install_id = ?',
  );
  const purge = database.prepare<[number]>(
    'DELETE FROM answer_cache WHERE expires_at <= ?',
  );
  let writes = 0;

  return {
    get(key, nowMs) {
      const row = select.get(key, nowMs);
      return Promise.resolve(
        row ? (JSON.parse(row.entry) as CachedAnswer) : undefined,
      );
    },
    set(key, answer, ttlSeconds, nowMs, installId) {
      upsert.run(
        key,
        JSON.stringify(answer),
        nowMs,
        nowMs + ttlSeconds * 1000,
        installId ?? null,
      );
      writes++;
      if (writes % PURGE_EVERY_WRITES === 0) {
        purge.run(nowMs);
      }
      return Promise.resolve();
    },
    deleteByInstall(installId) {
      return Promise.resolve(deleteInstall.run(installId).changes);
    },
    close() {
      database.close();
      return Promise.resolve();
    },
  };
}

function prepareTables(database: Database.Database): void {
  database.exec(
    `CREATE TABLE IF NOT EXISTS answer_cache_meta (
       name TEXT PRIMARY KEY,
       value TEXT NOT NULL
     )`,
  );
  const version = database
    .prepare<[], { value: string }>(
      "SELECT value FROM answer_cache_meta WHERE name = 'version'",
    )
    .get()?.value;

  database.transaction(() => {
    if (version !== SQLITE_CACHE_VERSION) {
      database.exec('DROP TABLE IF EXISTS answer_cache');
    }
    database.exec(
      `CREATE TABLE IF NOT EXISTS answer_cache (
         key TEXT PRIMARY KEY,
         entry TEXT NOT NULL,
         created_at INTEGER NOT NULL,
         expires_at INTEGER NOT NULL,
         install_id TEXT
       )`,
    );
    database.exec(
      'CREATE INDEX IF NOT EXISTS answer_cache_expires_at ON answer_cache (expires_at)',
    );
    database.exec(
      'CREATE INDEX IF NOT EXISTS answer_cache_install_id ON answer_cache (install_id)',
    );
    database
      .prepare(
        `INSERT INTO answer_cache_meta (name, value) VALUES ('version', ?)
         ON CONFLICT (name) DO UPDATE SET value = excluded.value`,
      )
      .run(SQLITE_CACHE_VERSION);
  })();
}
