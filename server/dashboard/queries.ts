/**
 * Read-only aggregate queries over the ledger for the dashboard, budgets,
 * spike detector and /metrics. Only `settle` entries (answers from a
 * provider), `cache_hit` entries (answers from the cache) and `release`
 * entries (answers that failed before they were charged) are read.
 * Times are milliseconds since the Unix epoch, as both stores keep them.
 */
import type { Tier } from '../../lib/protocol';
import type { SpendDatabase } from './database';

/** The ledger entry kinds that the spend figures read. */
export type SpendEntryKind = 'settle' | 'cache_hit' | 'release';

/** Token totals of one install, model, tier and entry kind. */
export interface SpendRow {
  kind: SpendEntryKind;
  installId: string;
  tier: Tier;
  /** `provider:model`. */
  model: string;
  /** Ledger entries summed. */
  entries: number;
  /** Provider input tokens, cached ones included. */
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
}

/** A time range, `since` included and `until` excluded, in milliseconds. */
export interface TimeRange {
  since: number;
  until: number;
}

interface RawSpendRow {
  kind: SpendEntryKind;
  install_id: string;
  tier: Tier | null;
  model: string | null;
  entries: number;
  input_tokens: number | null;
  cached_input_tokens: number | null;
  output_tokens: number | null;
}

/** Sums settled, cached and released entries per install, model and tier. */
export async function querySpendRows(
  database: SpendDatabase,
  range: TimeRange,
): Promise<SpendRow[]> {
  const rows = await database.all<RawSpendRow>(
    `SELECT kind, install_id, tier, model, COUNT(*) AS entries,
            SUM(input_tokens) AS input_tokens,
            SUM(cached_input_tokens) AS cached_input_tokens,
            SUM(output_tokens) AS output_tokens
       FROM ledger_entries
      WHERE kind IN ('settle', 'cache_hit', 'release')
        AND created_at >= ? AND created_at < ?
      GROUP BY kind, install_id, tier, model`,
    [range.since, range.until],
  );
  return rows.map((row) => ({
    kind: row.kind,
    installId: row.install_id,
    tier: row.tier ?? 'cheap',
    model: row.model ?? 'unknown',
    entries: Number(row.entries),
    inputTokens: Number(row.input_tokens ?? 0),
    cachedInputTokens: Number(row.cached_input_tokens ?? 0),
    outputTokens: Number(row.output_tokens ?? 0),
  }));
}

/** Entries of one kind, model and tier that fell in one UTC hour. */
export interface HourlyRow extends Omit<SpendRow, 'installId'> {
  /** Start of the hour, milliseconds since the epoch. */
  hourStart: number;
}

interface RawHourlyRow extends Omit<RawSpendRow, 'install_id'> {
  hour_index: number;
}

/** Sums entries per UTC hour, kind, model and tier. */
export async function queryHourlyRows(
  database: SpendDatabase,
  range: TimeRange,
): Promise<HourlyRow[]> {
  // Integer division on both databases: created_at is an integer column.
  const rows = await database.all<RawHourlyRow>(
    `SELECT created_at / 3600000 AS hour_index, kind, tier, model,
            COUNT(*) AS entries,
            SUM(input_tokens) AS input_tokens,
            SUM(cached_input_tokens) AS cached_input_tokens,
            SUM(output_tokens) AS output_tokens
       FROM ledger_entries
      WHERE kind IN ('settle', 'cache_hit', 'release')
        AND created_at >= ? AND created_at < ?
      GROUP BY created_at / 3600000, kind, tier, model`,
    [range.since, range.until],
  );
  return rows.map((row) => ({
    hourStart: Number(row.hour_index) * 3_600_000,
    kind: row.kind,
    tier: row.tier ?? 'cheap',
    model: row.model ?? 'unknown',
    entries: Number(row.entries),
    inputTokens: Number(row.input_tokens ?? 0),
    cachedInputTokens: Number(row.cached_input_tokens ?? 0),
    outputTokens: Number(row.output_tokens ?? 0),
  }));
}
