/**
 * Table rows shared by the SQLite and PostgreSQL stores, which use the
 * same column names and units (times in milliseconds since the Unix epoch,
 * flags as 0 or 1), and their conversion to the Store interface's types.
 */
import type { Tier } from '../../lib/protocol';
import type {
  Balance,
  DailyUsage,
  InstallRecord,
  LedgerEntry,
  LedgerEntryKind,
  ModelUsage,
  Plan,
  Reservation,
} from './types';

const DAY_MS = 86_400_000;

export interface InstallRow {
  id: string;
  created_at: number;
  plan: string;
  revoked: number;
  /** Added by migration 4; null until the user deletes the install's data. */
  deleted_at?: number | string | null;
}

export interface BalanceRow {
  install_id: string;
  period_start: number;
  period_end: number;
  allowance: number;
  granted: number;
  used: number;
  reserved: number;
}

export interface ReservationRow {
  request_id: string;
  install_id: string;
  period_start: number;
  tier: Tier;
  model: string;
  weight: number;
  input_tokens: number;
  max_output_tokens: number;
  amount: number;
  created_at: number;
  expires_at: number;
}

export interface LedgerRow {
  id: number;
  kind: LedgerEntryKind;
  request_id: string | null;
  install_id: string;
  period_start: number;
  tier: Tier | null;
  model: string | null;
  input_tokens: number;
  cached_input_tokens: number;
  output_tokens: number;
  weight: number;
  allowance_tokens: number;
  estimated: number;
  created_at: number;
}

export type NewLedgerEntry = Omit<
  LedgerEntry,
  'id' | 'periodStart' | 'createdAt'
> & {
  periodStart: number;
  createdAt: number;
};

export function toInstall(row: InstallRow): InstallRecord {
  return {
    id: row.id,
    createdAt: new Date(row.created_at),
    plan: row.plan,
    revoked: Number(row.revoked) === 1,
    ...(row.deleted_at === null || row.deleted_at === undefined
      ? {}
      : { deletedAt: new Date(Number(row.deleted_at)) }),
  };
}

export function toBalance(
  row: BalanceRow,
  install: InstallRow,
  plan: Plan,
): Balance {
  const allowance = row.allowance + row.granted;
  return {
    installId: install.id,
    plan,
    periodStart: new Date(row.period_start),
    resetAt: new Date(row.period_end),
    allowance,
    used: row.used,
    reserved: row.reserved,
    remaining: Math.max(0, allowance - row.used - row.reserved),
  };
}

export function toReservation(row: ReservationRow): Reservation {
  return {
    requestId: row.request_id,
    installId: row.install_id,
    periodStart: new Date(row.period_start),
    tier: row.tier,
    model: row.model,
    weight: row.weight,
    inputTokens: row.input_tokens,
    maxOutputTokens: row.max_output_tokens,
    amount: row.amount,
    createdAt: new Date(row.created_at),
    expiresAt: new Date(row.expires_at),
  };
}

export interface ModelUsageRow {
  model: string;
  tier: Tier;
  requests: number;
  input_tokens: number;
  cached_input_tokens: number;
  output_tokens: number;
  charged: number;
  cache_hits: number;
  saved: number;
}

export function toModelUsage(row: ModelUsageRow): ModelUsage {
  return {
    model: row.model,
    tier: row.tier,
    requests: Number(row.requests),
    inputTokens: Number(row.input_tokens),
    cachedInputTokens: Number(row.cached_input_tokens),
    outputTokens: Number(row.output_tokens),
    charged: Number(row.charged),
    cacheHits: Number(row.cache_hits),
    saved: Number(row.saved),
  };
}

export function toLedgerEntry(row: LedgerRow): LedgerEntry {
  return {
    id: row.id,
    kind: row.kind,
    requestId: row.request_id,
    installId: row.install_id,
    periodStart: new Date(row.period_start),
    tier: row.tier,
    model: row.model,
    inputTokens: row.input_tokens,
    cachedInputTokens: row.cached_input_tokens,
    outputTokens: row.output_tokens,
    weight: row.weight,
    allowanceTokens: row.allowance_tokens,
    estimated: Number(row.estimated) === 1,
    createdAt: new Date(row.created_at),
  };
}

/** One row of daily totals, as both stores' GROUP BY queries return it. */
export interface DailyTotalRow {
  date: string;
  kind: LedgerEntryKind;
  tier: Tier | null;
  tokens: number | string;
}

/** Returns the first millisecond of the UTC day that contains `time`. */
export function startOfUtcDay(time: number): number {
  return Math.floor(time / DAY_MS) * DAY_MS;
}

/**
 * Builds one entry per UTC day from `firstDay` to `lastDay` (both the
 * first millisecond of a day), filled from the grouped totals.
 */
export function buildDailySeries(
  firstDay: number,
  lastDay: number,
  rows: DailyTotalRow[],
): DailyUsage[] {
  const days = new Map<string, DailyUsage>();
  for (let day = firstDay; day <= lastDay; day += DAY_MS) {
    const date = new Date(day).toISOString().slice(0, 10);
    days.set(date, { date, cheap: 0, premium: 0, saved: 0 });
  }
  for (const row of rows) {
    const entry = days.get(row.date);
    if (!entry) {
      continue;
    }
    const tokens = Number(row.tokens);
    if (row.kind === 'cache_hit') {
      entry.saved += tokens;
    } else if (row.tier === 'premium') {
      entry.premium += tokens;
    } else {
      entry.cheap += tokens;
    }
  }
  return [...days.values()];
}

/**
 * Start of the keys under which the spike detector records its alerts
 * about one install: `spike:<install id>:<hour>`.
 */
export function spikeAlertPrefix(installId: string): string {
  return `spike:${installId}:`;
}
