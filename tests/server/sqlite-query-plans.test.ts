/**
 * The SQLite store's statements on the request path must search the ledger
 * through an index, because the ledger only grows: a scan makes every
 * question slower than the one before. The test records every statement
 * the store prepares while it reserves, settles, releases and answers
 * repeated calls, then asks SQLite for each statement's query plan.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  openSqliteStore,
  SELECT_CLOSING_ENTRY_SQL,
  SELECT_RESERVE_ENTRY_SQL,
} from '../../server/store/sqlite';
import type { Plan, ReserveRequest, Store } from '../../server/store/types';
import { createTempDirectory } from './helpers';

const PLANS: Record<string, Plan> = {
  free: {
    name: 'free',
    allowanceTokens: 1_000_000,
    premiumWeight: 5,
    requestsPerMinute: 20,
    tokensPerMinute: 200_000,
  },
};
const NOW = new Date('2025-02-10T00:00:00.000Z');
const INSTALL_ID = 'install-1';

/** Tables that grow with every question. */
const GROWING_TABLES = ['ledger_entries'];

function reserveRequest(requestId: string): ReserveRequest {
  return {
    requestId,
    installId: INSTALL_ID,
    tier: 'cheap',
    model: 'openai:gpt-5-mini',
    inputTokens: 100,
    maxOutputTokens: 1_000,
    minOutputTokens: 64,
    now: NOW,
    expiresAt: new Date(NOW.getTime() + 60_000),
  };
}

/** Lists the detail lines of SQLite's plan for `sql`. */
function explainQueryPlan(database: Database.Database, sql: string): string[] {
  const parameterCount = (sql.match(/\?/g) ?? []).length;
  const parameters = Array.from({ length: parameterCount }, () => null);
  const rows = database
    .prepare(`EXPLAIN QUERY PLAN ${sql}`)
    .all(...parameters) as Array<{ detail: string }>;
  return rows.map((row) => row.detail);
}

describe('sqlite query plans', () => {
  let directory: { directory: string; remove: () => void };
  let file: string;
  let store: Store;
  const prepared = new Set<string>();
  const originalPrepare = Database.prototype.prepare;

  beforeEach(async () => {
    directory = createTempDirectory();
    file = path.join(directory.directory, 'ledger.db');
    Database.prototype.prepare = function recordPrepare(
      this: Database.Database,
      sql: string,
    ) {
      prepared.add(sql);
      return originalPrepare.call(this, sql);
    } as typeof Database.prototype.prepare;
    store = openSqliteStore({ path: file, plans: PLANS });
    await store.createInstall({ id: INSTALL_ID, plan: 'free', now: NOW });
  });

  afterEach(async () => {
    Database.prototype.prepare = originalPrepare;
    prepared.clear();
    await store.close();
    directory.remove();
  });

  it('request path searches the ledger by index', async () => {
    await store.reserve(reserveRequest('settled'));
    await store.reserve(reserveRequest('settled'));
    await store.settle({
      requestId: 'settled',
      usage: { inputTokens: 100, cachedInputTokens: 0, outputTokens: 20 },
      estimated: false,
      now: NOW,
    });
    await store.settle({
      requestId: 'settled',
      usage: { inputTokens: 100, cachedInputTokens: 0, outputTokens: 20 },
      estimated: false,
      now: NOW,
    });
    await store.reserve(reserveRequest('released'));
    await store.release({ requestId: 'released', now: NOW });
    await store.release({ requestId: 'released', now: NOW });
    await store.getBalance(INSTALL_ID, NOW);
    Database.prototype.prepare = originalPrepare;

    const database = new Database(file, { readonly: true });
    try {
      const statements = [...prepared].filter((sql) =>
        GROWING_TABLES.some((table) => sql.includes(table)),
      );
      expect(statements).toContain(SELECT_RESERVE_ENTRY_SQL);
      expect(statements).toContain(SELECT_CLOSING_ENTRY_SQL);
      for (const sql of statements) {
        const plan = explainQueryPlan(database, sql);
        for (const table of GROWING_TABLES) {
          expect(
            plan.filter((detail) => detail.startsWith(`SCAN ${table}`)),
            `${sql}\n${plan.join('\n')}`,
          ).toEqual([]);
        }
      }
    } finally {
      database.close();
    }
  });
});
