/**
 * Admin queries over installs and the ledger that the Store interface does
 * not offer: search installs, page through one install's ledger or a date
 * range of it, and revoke an install.
 */
import type { SpendDatabase } from './database';

/** An install as the admin list shows it. */
export interface InstallSummary {
  id: string;
  plan: string;
  revoked: boolean;
  createdAt: string;
  /** Time of the install's latest ledger entry, if any. */
  lastActivityAt: string | null;
}

interface InstallRow {
  id: string;
  plan: string;
  revoked: number | boolean;
  created_at: number;
  last_activity_at: number | null;
}

/**
 * Lists installs, newest first. `search` matches part of the id or the
 * plan name, case-insensitively.
 */
export async function searchInstalls(
  database: SpendDatabase,
  options: { search?: string; limit: number; offset: number },
): Promise<InstallSummary[]> {
  const pattern = `%${escapeLike(options.search?.toLowerCase() ?? '')}%`;
  const rows = await database.all<InstallRow>(
    `SELECT i.id, i.plan, i.revoked, i.created_at,
            (SELECT MAX(l.created_at) FROM ledger_entries l
              WHERE l.install_id = i.id) AS last_activity_at
       FROM installs i
      WHERE LOWER(i.id) LIKE ? ESCAPE '\\' OR LOWER(i.plan) LIKE ? ESCAPE '\\'
      ORDER BY i.created_at DESC, i.id
      LIMIT ? OFFSET ?`,
    [pattern, pattern, options.limit, options.offset],
  );
  return rows.map((row) => ({
    id: row.id,
    plan: row.plan,
    revoked: row.revoked === true || Number(row.revoked) === 1,
    createdAt: new Date(Number(row.created_at)).toISOString(),
    lastActivityAt:
      row.last_activity_at === null
        ? null
        : new Date(Number(row.last_activity_at)).toISOString(),
  }));
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (character) => `\\${character}`);
}

/** Returns true when the install exists. */
export async function installExists(
  database: SpendDatabase,
  installId: string,
): Promise<boolean> {
  const rows = await database.all<{ id: string }>(
    'SELECT id FROM installs WHERE id = ?',
    [installId],
  );
  return rows.length === 1;
}

/**
 * Marks an install revoked, so its token is rejected from the next
 * request on. Returns false when the install does not exist.
 */
export async function revokeInstall(
  database: SpendDatabase,
  installId: string,
): Promise<boolean> {
  // Both stores keep `revoked` as a 0 or 1 integer.
  const changes = await database.run(
    'UPDATE installs SET revoked = 1 WHERE id = ?',
    [installId],
  );
  return changes === 1;
}

/** One ledger entry as the admin API and the CSV export write it. */
export interface LedgerRow {
  id: number;
  createdAt: string;
  kind: string;
  requestId: string | null;
  installId: string;
  periodStart: string;
  tier: string | null;
  model: string | null;
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
  weight: number;
  allowanceTokens: number;
  estimated: boolean;
}

interface RawLedgerRow {
  id: number;
  created_at: number;
  kind: string;
  request_id: string | null;
  install_id: string;
  period_start: number;
  tier: string | null;
  model: string | null;
  input_tokens: number;
  cached_input_tokens: number;
  output_tokens: number;
  weight: number;
  allowance_tokens: number;
  estimated: number | boolean;
}

/**
 * Returns up to `limit` ledger entries with an id above `afterId`, oldest
 * first, filtered by install and by creation time (`since` included,
 * `until` excluded, milliseconds).
 */
export async function listLedgerRows(
  database: SpendDatabase,
  options: {
    installId?: string;
    since: number;
    until: number;
    afterId: number;
    limit: number;
  },
): Promise<LedgerRow[]> {
  const installFilter =
    options.installId === undefined ? '' : 'AND install_id = ?';
  const values = [options.afterId, options.since, options.until];
  const rows = await database.all<RawLedgerRow>(
    `SELECT id, created_at, kind, request_id, install_id, period_start, tier,
            model, input_tokens, cached_input_tokens, output_tokens, weight,
            allowance_tokens, estimated
       FROM ledger_entries
      WHERE id > ? AND created_at >= ? AND created_at < ? ${installFilter}
      ORDER BY id
      LIMIT ?`,
    options.installId === undefined
      ? [...values, options.limit]
      : [...values, options.installId, options.limit],
  );
  return rows.map((row) => ({
    id: Number(row.id),
    createdAt: new Date(Number(row.created_at)).toISOString(),
    kind: row.kind,
    requestId: row.request_id,
    installId: row.install_id,
    periodStart: new Date(Number(row.period_start)).toISOString(),
    tier: row.tier,
    model: row.model,
    inputTokens: Number(row.input_tokens),
    cachedInputTokens: Number(row.cached_input_tokens),
    outputTokens: Number(row.output_tokens),
    weight: Number(row.weight),
    allowanceTokens: Number(row.allowance_tokens),
    estimated: row.estimated === true || Number(row.estimated) === 1,
  }));
}
