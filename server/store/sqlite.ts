/**
 * The embedded store: SQLite through better-sqlite3, in WAL mode. Every
 * change to the ledger runs in one IMMEDIATE transaction, which takes the
 * write lock before it reads, so concurrent reservations (in this process
 * or another one on the same file) see each other's holds.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { MAX_PERIOD_ALLOWANCE_TOKENS } from '../../lib/protocol';
import { ALERT_TABLE } from '../alerts/alert-log';
import { findPeriod } from '../periods';
import {
  allowanceAfterPlanChange,
  fitOutputCap,
  weighTokens,
} from './allowance';
import {
  createBackendInstance,
  isLocalProcessGone,
  type BackendInstance,
} from './instance';
import {
  buildDailySeries,
  startOfUtcDay,
  toBalance,
  toInstall,
  toLedgerEntry,
  toModelUsage,
  toReservation,
  type BalanceRow,
  type DailyTotalRow,
  type InstallRow,
  type LedgerRow,
  type ModelUsageRow,
  type NewLedgerEntry,
  type ReservationRow,
  spikeAlertPrefix,
} from './rows';
import { SQLITE_MIGRATIONS, type Migration } from './sqlite-migrations';
import {
  InstallNotFoundError,
  STALE_INSTANCE_MS,
  UnknownPlanError,
  type Balance,
  type CacheHitRequest,
  type ChangePlanRequest,
  type CreateInstallRequest,
  type DailyUsage,
  type DeleteInstallDataRequest,
  type DeleteInstallDataResult,
  type GrantRequest,
  type InstallRecord,
  type LedgerEntry,
  type ModelUsage,
  type Plan,
  type ReleaseRequest,
  type ReleaseResult,
  type Reservation,
  type ReserveRequest,
  type ReserveResult,
  type SettleRequest,
  type SettleResult,
  type Store,
} from './types';

export { fitOutputCap, weighTokens } from './allowance';

export interface OpenSqliteStoreOptions {
  /** Database file, or ":memory:". Missing folders are created. */
  path: string;
  /** Plans by name; installs reference one by name. */
  plans: Readonly<Record<string, Plan>>;
  /** How long a writer waits for another process's lock, in milliseconds. */
  busyTimeoutMs?: number;
}

const DEFAULT_BUSY_TIMEOUT_MS = 5_000;
const DAY_MS = 86_400_000;

// SQLite uses a partial index only when the query repeats the index's
// WHERE terms, so both lookups by request id restate the `kind IN (...)`
// of ledger_entries_request_kind. Without it every reservation scanned the
// whole ledger.
/** Finds a request's reserve entry, through ledger_entries_request_kind. */
export const SELECT_RESERVE_ENTRY_SQL = `SELECT 1 FROM ledger_entries
  WHERE request_id = ? AND kind = 'reserve'
    AND kind IN ('reserve', 'settle', 'release')`;

/** Finds a request's settle or release entry, through ledger_entries_request_kind. */
export const SELECT_CLOSING_ENTRY_SQL = `SELECT * FROM ledger_entries
  WHERE request_id = ? AND kind IN ('settle', 'release')
    AND kind IN ('reserve', 'settle', 'release')`;

/** Final state of a request whose reservation is gone. */
type ClosedRequest =
  | {
      status: 'already_settled';
      charged: number;
      weight: number;
      balance: Balance;
    }
  | { status: 'already_released' | 'not_found' };

/**
 * Opens (creating when missing) and migrates a SQLite store. Throws when
 * the file cannot be opened or a migration fails.
 */
export function openSqliteStore(options: OpenSqliteStoreOptions): Store {
  if (options.path !== ':memory:') {
    mkdirSync(path.dirname(options.path), { recursive: true });
  }
  const database = new Database(options.path);
  database.pragma('journal_mode = WAL');
  database.pragma('foreign_keys = ON');
  database.pragma(
    `busy_timeout = ${options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS}`,
  );
  database.pragma('synchronous = NORMAL');

  migrate(database, SQLITE_MIGRATIONS);
  const instance = createBackendInstance();
  const now = Date.now();
  database
    .prepare(
      `INSERT INTO backend_instances (id, host, pid, started_at, heartbeat_at)
         VALUES (?, ?, ?, ?, ?)`,
    )
    .run(instance.id, instance.host, instance.pid, now, now);
  return new SqliteStore(database, options.plans, instance);
}

/** Applies the migrations the database has not seen, each in a transaction. */
export function migrate(
  database: Database.Database,
  migrations: readonly Migration[],
): number[] {
  database.exec(`
    CREATE TABLE IF NOT EXISTS schema_migrations (
      version INTEGER PRIMARY KEY,
      name TEXT NOT NULL,
      applied_at INTEGER NOT NULL
    )
  `);
  const applied: number[] = [];
  const apply = database.transaction((migration: Migration) => {
    const seen = database
      .prepare('SELECT 1 FROM schema_migrations WHERE version = ?')
      .get(migration.version);
    if (seen) {
      return;
    }
    database.exec(migration.sql);
    database
      .prepare(
        'INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)',
      )
      .run(migration.version, migration.name, Date.now());
    applied.push(migration.version);
  });

  for (const migration of [...migrations].sort(
    (left, right) => left.version - right.version,
  )) {
    apply.immediate(migration);
  }
  return applied;
}

class SqliteStore implements Store {
  private readonly statements = new Map<string, Database.Statement>();

  constructor(
    private readonly database: Database.Database,
    private readonly plans: Readonly<Record<string, Plan>>,
    private readonly instance: BackendInstance,
  ) {}

  /** Prepares a statement once and reuses it. */
  private statement(sql: string): Database.Statement {
    let prepared = this.statements.get(sql);
    if (!prepared) {
      prepared = this.database.prepare(sql);
      this.statements.set(sql, prepared);
    }
    return prepared;
  }

  async createInstall(request: CreateInstallRequest): Promise<InstallRecord> {
    const createdAt = Math.floor(request.now.getTime() / 1000) * 1000;
    this.statement(
      'INSERT INTO installs (id, created_at, plan, revoked) VALUES (?, ?, ?, 0)',
    ).run(request.id, createdAt, request.plan);
    return {
      id: request.id,
      createdAt: new Date(createdAt),
      plan: request.plan,
      revoked: false,
    };
  }

  async getInstall(installId: string): Promise<InstallRecord | undefined> {
    const row = this.selectInstall(installId);
    return row ? toInstall(row) : undefined;
  }

  async reserve(request: ReserveRequest): Promise<ReserveResult> {
    const transaction = this.database.transaction((): ReserveResult => {
      const duplicate = this.statement(SELECT_RESERVE_ENTRY_SQL).get(
        request.requestId,
      );
      if (duplicate) {
        return { status: 'duplicate_request' };
      }

      const now = request.now.getTime();
      const { install, plan, row } = this.ensurePeriod(request.installId, now);
      const weight = request.tier === 'premium' ? plan.premiumWeight : 1;
      const available = row.allowance + row.granted - row.used - row.reserved;
      const maxOutputTokens = fitOutputCap({
        available,
        weight,
        inputTokens: request.inputTokens,
        maxOutputTokens: request.maxOutputTokens,
      });

      if (maxOutputTokens < request.minOutputTokens) {
        return {
          status: 'allowance_exhausted',
          balance: toBalance(row, install, plan),
          requiredTokens: weighTokens(
            weight,
            request.inputTokens + request.minOutputTokens,
          ),
        };
      }

      const amount = weighTokens(weight, request.inputTokens + maxOutputTokens);
      const reservation: Reservation = {
        requestId: request.requestId,
        installId: install.id,
        periodStart: new Date(row.period_start),
        tier: request.tier,
        model: request.model,
        weight,
        inputTokens: request.inputTokens,
        maxOutputTokens,
        amount,
        createdAt: request.now,
        expiresAt: request.expiresAt,
      };
      this.statement(
        `INSERT INTO reservations (request_id, install_id, period_start, tier,
             model, weight, input_tokens, max_output_tokens, amount,
             created_at, expires_at, instance_id)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        reservation.requestId,
        reservation.installId,
        row.period_start,
        reservation.tier,
        reservation.model,
        weight,
        reservation.inputTokens,
        maxOutputTokens,
        amount,
        now,
        request.expiresAt.getTime(),
        this.instance.id,
      );
      this.appendEntry({
        kind: 'reserve',
        requestId: request.requestId,
        installId: install.id,
        periodStart: row.period_start,
        tier: request.tier,
        model: request.model,
        inputTokens: request.inputTokens,
        cachedInputTokens: 0,
        outputTokens: maxOutputTokens,
        weight,
        allowanceTokens: amount,
        estimated: false,
        createdAt: now,
      });
      const updated = this.adjustBalance(row, { reserved: amount }, now);
      return {
        status: 'reserved',
        reservation,
        balance: toBalance(updated, install, plan),
      };
    });
    return transaction.immediate();
  }

  async settle(request: SettleRequest): Promise<SettleResult> {
    if (request.model !== undefined && request.model.trim() === '') {
      throw new RangeError(
        `The settled model of request ${request.requestId} is empty; pass a model name or leave it out.`,
      );
    }
    const transaction = this.database.transaction((): SettleResult => {
      const reservation = this.selectReservation(request.requestId);
      if (!reservation) {
        return this.describeClosedRequest(request.requestId);
      }

      const now = request.now.getTime();
      const { usage } = request;
      const charged = Math.min(
        weighTokens(reservation.weight, usage.inputTokens + usage.outputTokens),
        reservation.amount,
      );
      this.deleteReservation(reservation.request_id);
      this.appendEntry({
        kind: 'settle',
        requestId: reservation.request_id,
        installId: reservation.install_id,
        periodStart: reservation.period_start,
        tier: reservation.tier,
        model: request.model ?? reservation.model,
        inputTokens: usage.inputTokens,
        cachedInputTokens: Math.min(usage.cachedInputTokens, usage.inputTokens),
        outputTokens: usage.outputTokens,
        weight: reservation.weight,
        allowanceTokens: charged,
        estimated: request.estimated,
        createdAt: now,
      });
      const balance = this.closeReservation(reservation, charged, now);
      return {
        status: 'settled',
        charged,
        weight: reservation.weight,
        balance,
      };
    });
    return transaction.immediate();
  }

  async release(request: ReleaseRequest): Promise<ReleaseResult> {
    const transaction = this.database.transaction((): ReleaseResult => {
      const reservation = this.selectReservation(request.requestId);
      if (!reservation) {
        const closed = this.describeClosedRequest(request.requestId);
        return { status: closed.status };
      }
      const balance = this.releaseReservation(
        reservation,
        request.now.getTime(),
      );
      return { status: 'released', amount: reservation.amount, balance };
    });
    return transaction.immediate();
  }

  async releaseExpiredReservations(now: Date): Promise<Reservation[]> {
    const transaction = this.database.transaction((): Reservation[] => {
      this.forgetGoneInstances(now.getTime());
      // A reservation whose holder is not in backend_instances belongs to a
      // process that is gone, or to a version that did not record holders.
      const rows = this.statement(
        `SELECT * FROM reservations
           WHERE expires_at <= ?
              OR instance_id IS NULL
              OR instance_id NOT IN (SELECT id FROM backend_instances)`,
      ).all(now.getTime()) as ReservationRow[];
      for (const row of rows) {
        this.releaseReservation(row, now.getTime());
      }
      return rows.map(toReservation);
    });
    return transaction.immediate();
  }

  async grant(request: GrantRequest): Promise<Balance> {
    if (!Number.isSafeInteger(request.tokens) || request.tokens <= 0) {
      throw new RangeError(
        `A grant must be a positive whole number of tokens, not ${request.tokens}.`,
      );
    }
    const transaction = this.database.transaction((): Balance => {
      const now = request.now.getTime();
      const { install, plan, row } = this.ensurePeriod(request.installId, now);
      if (
        row.allowance + row.granted + request.tokens >
        MAX_PERIOD_ALLOWANCE_TOKENS
      ) {
        throw new RangeError(
          `A grant of ${request.tokens} tokens would lift the period's allowance past the maximum of ${MAX_PERIOD_ALLOWANCE_TOKENS}.`,
        );
      }
      this.appendEntry({
        kind: 'grant',
        requestId: null,
        installId: install.id,
        periodStart: row.period_start,
        tier: null,
        model: null,
        inputTokens: 0,
        cachedInputTokens: 0,
        outputTokens: 0,
        weight: 1,
        allowanceTokens: request.tokens,
        estimated: false,
        createdAt: now,
      });
      const updated = this.adjustBalance(row, { granted: request.tokens }, now);
      return toBalance(updated, install, plan);
    });
    return transaction.immediate();
  }

  async changePlan(request: ChangePlanRequest): Promise<Balance> {
    const newPlan = this.plans[request.plan];
    if (!newPlan) {
      throw new UnknownPlanError(request.plan);
    }
    const transaction = this.database.transaction((): Balance => {
      const now = request.now.getTime();
      const { install, row } = this.ensurePeriod(request.installId, now);
      this.statement('UPDATE installs SET plan = ? WHERE id = ?').run(
        newPlan.name,
        install.id,
      );
      const allowance = allowanceAfterPlanChange({
        planAllowance: newPlan.allowanceTokens,
        granted: row.granted,
        used: row.used,
        reserved: row.reserved,
      });
      this.statement(
        `UPDATE balances SET allowance = ?, updated_at = ?
           WHERE install_id = ? AND period_start = ?`,
      ).run(allowance, now, install.id, row.period_start);
      this.appendEntry({
        kind: 'reset',
        requestId: null,
        installId: install.id,
        periodStart: row.period_start,
        tier: null,
        model: null,
        inputTokens: 0,
        cachedInputTokens: 0,
        outputTokens: 0,
        weight: 1,
        allowanceTokens: allowance,
        estimated: false,
        createdAt: now,
      });
      return toBalance(
        { ...row, allowance },
        { ...install, plan: newPlan.name },
        newPlan,
      );
    });
    return transaction.immediate();
  }

  async recordCacheHit(request: CacheHitRequest): Promise<Balance> {
    const transaction = this.database.transaction((): Balance => {
      const now = request.now.getTime();
      const { install, plan, row } = this.ensurePeriod(request.installId, now);
      const weight = request.tier === 'premium' ? plan.premiumWeight : 1;
      const { usage } = request;
      this.appendEntry({
        kind: 'cache_hit',
        requestId: request.requestId,
        installId: install.id,
        periodStart: row.period_start,
        tier: request.tier,
        model: request.model,
        inputTokens: usage.inputTokens,
        cachedInputTokens: Math.min(usage.cachedInputTokens, usage.inputTokens),
        outputTokens: usage.outputTokens,
        weight,
        allowanceTokens: weighTokens(
          weight,
          usage.inputTokens + usage.outputTokens,
        ),
        estimated: false,
        createdAt: now,
      });
      return toBalance(row, install, plan);
    });
    return transaction.immediate();
  }

  async getBalance(installId: string, now: Date): Promise<Balance> {
    const transaction = this.database.transaction((): Balance => {
      const { install, plan, row } = this.ensurePeriod(
        installId,
        now.getTime(),
      );
      return toBalance(row, install, plan);
    });
    return transaction.immediate();
  }

  async getDailyUsage(
    installId: string,
    range: { since: Date; until: Date },
  ): Promise<DailyUsage[]> {
    const firstDay = startOfUtcDay(range.since.getTime());
    const lastDay = startOfUtcDay(range.until.getTime());
    const rows = this.statement(
      `SELECT strftime('%Y-%m-%d', created_at / 1000, 'unixepoch') AS date,
                kind, tier, SUM(allowance_tokens) AS tokens
         FROM ledger_entries
         WHERE install_id = ? AND kind IN ('settle', 'cache_hit')
           AND created_at >= ? AND created_at < ?
         GROUP BY date, kind, tier`,
    ).all(installId, firstDay, lastDay + DAY_MS) as DailyTotalRow[];
    return buildDailySeries(firstDay, lastDay, rows);
  }

  async getModelUsage(
    installId: string,
    range: { since: Date; until: Date },
  ): Promise<ModelUsage[]> {
    const rows = this.statement(
      `SELECT model, tier,
           SUM(kind = 'settle') AS requests,
           SUM(CASE WHEN kind = 'settle' THEN input_tokens ELSE 0 END) AS input_tokens,
           SUM(CASE WHEN kind = 'settle' THEN cached_input_tokens ELSE 0 END) AS cached_input_tokens,
           SUM(CASE WHEN kind = 'settle' THEN output_tokens ELSE 0 END) AS output_tokens,
           SUM(CASE WHEN kind = 'settle' THEN allowance_tokens ELSE 0 END) AS charged,
           SUM(kind = 'cache_hit') AS cache_hits,
           SUM(CASE WHEN kind = 'cache_hit' THEN allowance_tokens ELSE 0 END) AS saved
         FROM ledger_entries
         WHERE install_id = ? AND kind IN ('settle', 'cache_hit')
           AND created_at >= ? AND created_at < ?
         GROUP BY model, tier
         ORDER BY charged DESC, model`,
    ).all(
      installId,
      range.since.getTime(),
      range.until.getTime(),
    ) as Array<ModelUsageRow>;
    return rows.map(toModelUsage);
  }

  async deleteInstallData(
    request: DeleteInstallDataRequest,
  ): Promise<DeleteInstallDataResult> {
    const transaction = this.database.transaction(
      (): DeleteInstallDataResult => {
        const install = this.selectInstall(request.installId);
        if (!install) {
          return { status: 'not_found' };
        }
        const alreadyDeletedAt =
          install.deleted_at === null || install.deleted_at === undefined
            ? undefined
            : Number(install.deleted_at);
        const subscriptions = this.statement(
          `SELECT subscription_id FROM billing_subscriptions
             WHERE install_id = ? AND status <> 'canceled'
             ORDER BY subscription_id`,
        ).all(request.installId) as Array<{ subscription_id: string }>;
        if (subscriptions.length > 0) {
          return {
            status: 'subscription_active',
            subscriptionIds: subscriptions.map((row) => row.subscription_id),
          };
        }
        const deletedAt = alreadyDeletedAt ?? request.now.getTime();
        if (alreadyDeletedAt === undefined) {
          this.statement(
            'UPDATE installs SET revoked = 1, deleted_at = ? WHERE id = ?',
          ).run(deletedAt, request.installId);
        }

        // The spend monitor creates the alert table on start, so a store
        // used without it may not have one.
        const alertTable = this.statement(
          "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
        ).get(ALERT_TABLE);
        if (alertTable) {
          const prefix = spikeAlertPrefix(request.installId);
          this.database
            .prepare(
              `DELETE FROM ${ALERT_TABLE}
                 WHERE substr(alert_key, 1, length(?)) = ?`,
            )
            .run(prefix, prefix);
        }

        const kept = this.statement(
          'SELECT COUNT(*) AS count FROM ledger_entries WHERE install_id = ?',
        ).get(request.installId) as { count: number };
        return {
          status:
            alreadyDeletedAt === undefined ? 'deleted' : 'already_deleted',
          deletedAt: new Date(deletedAt),
          ledgerEntriesKept: kept.count,
        };
      },
    );
    return transaction.immediate();
  }

  async listLedgerEntries(installId: string): Promise<LedgerEntry[]> {
    const rows = this.statement(
      'SELECT * FROM ledger_entries WHERE install_id = ? ORDER BY id',
    ).all(installId) as LedgerRow[];
    return rows.map(toLedgerEntry);
  }

  async close(): Promise<void> {
    if (this.database.open) {
      // Reservations still held become orphans that the next sweep releases.
      this.statement('DELETE FROM backend_instances WHERE id = ?').run(
        this.instance.id,
      );
      this.database.close();
    }
  }

  /**
   * Records this process's heartbeat and deletes the rows of processes
   * that are gone, which makes their reservations orphans. Call inside a
   * transaction.
   */
  private forgetGoneInstances(now: number): void {
    this.statement(
      `INSERT INTO backend_instances (id, host, pid, started_at, heartbeat_at)
         VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at`,
    ).run(this.instance.id, this.instance.host, this.instance.pid, now, now);
    const others = this.statement(
      'SELECT id, host, pid, started_at, heartbeat_at FROM backend_instances WHERE id <> ?',
    ).all(this.instance.id) as Array<{
      id: string;
      host: string;
      pid: number;
      started_at: number;
      heartbeat_at: number;
    }>;
    for (const other of others) {
      if (
        other.heartbeat_at <= now - STALE_INSTANCE_MS ||
        isLocalProcessGone(this.instance, other)
      ) {
        this.statement('DELETE FROM backend_instances WHERE id = ?').run(
          other.id,
        );
      }
    }
  }

  private selectInstall(installId: string): InstallRow | undefined {
    return this.statement('SELECT * FROM installs WHERE id = ?').get(
      installId,
    ) as InstallRow | undefined;
  }

  private selectReservation(requestId: string): ReservationRow | undefined {
    return this.statement(
      'SELECT * FROM reservations WHERE request_id = ?',
    ).get(requestId) as ReservationRow | undefined;
  }

  private deleteReservation(requestId: string): void {
    this.statement('DELETE FROM reservations WHERE request_id = ?').run(
      requestId,
    );
  }

  /**
   * Returns the balance row of the period containing `now`, inserting it
   * and a reset entry when the period is new. Call inside a transaction.
   */
  private ensurePeriod(
    installId: string,
    now: number,
  ): { install: InstallRow; plan: Plan; row: BalanceRow } {
    const install = this.selectInstall(installId);
    if (!install) {
      throw new InstallNotFoundError(installId);
    }
    const plan = this.plans[install.plan];
    if (!plan) {
      throw new UnknownPlanError(install.plan, install.id);
    }

    const period = findPeriod(new Date(install.created_at), new Date(now));
    const periodStart = period.start.getTime();
    const existing = this.statement(
      'SELECT * FROM balances WHERE install_id = ? AND period_start = ?',
    ).get(installId, periodStart) as BalanceRow | undefined;
    if (existing) {
      return { install, plan, row: existing };
    }

    const row: BalanceRow = {
      install_id: installId,
      period_start: periodStart,
      period_end: period.end.getTime(),
      allowance: plan.allowanceTokens,
      granted: 0,
      used: 0,
      reserved: 0,
    };
    this.statement(
      `INSERT INTO balances (install_id, period_start, period_end, allowance,
           granted, used, reserved, updated_at)
         VALUES (?, ?, ?, ?, 0, 0, 0, ?)`,
    ).run(installId, periodStart, row.period_end, row.allowance, now);
    this.appendEntry({
      kind: 'reset',
      requestId: null,
      installId,
      periodStart,
      tier: null,
      model: null,
      inputTokens: 0,
      cachedInputTokens: 0,
      outputTokens: 0,
      weight: 1,
      allowanceTokens: plan.allowanceTokens,
      estimated: false,
      createdAt: now,
    });
    return { install, plan, row };
  }

  private adjustBalance(
    row: BalanceRow,
    change: { granted?: number; used?: number; reserved?: number },
    now: number,
  ): BalanceRow {
    const updated: BalanceRow = {
      ...row,
      granted: row.granted + (change.granted ?? 0),
      used: row.used + (change.used ?? 0),
      reserved: row.reserved + (change.reserved ?? 0),
    };
    this.statement(
      `UPDATE balances SET granted = ?, used = ?, reserved = ?, updated_at = ?
         WHERE install_id = ? AND period_start = ?`,
    ).run(
      updated.granted,
      updated.used,
      updated.reserved,
      now,
      row.install_id,
      row.period_start,
    );
    return updated;
  }

  /** Moves a reservation's hold to `used` (charged) and frees the rest. */
  private closeReservation(
    reservation: ReservationRow,
    charged: number,
    now: number,
  ): Balance {
    const install = this.selectInstall(reservation.install_id);
    const row = this.statement(
      'SELECT * FROM balances WHERE install_id = ? AND period_start = ?',
    ).get(reservation.install_id, reservation.period_start) as
      BalanceRow | undefined;
    if (!install || !row) {
      throw new Error(
        `The balance of install ${reservation.install_id} for the period starting ${new Date(reservation.period_start).toISOString()} is missing while it holds reservation ${reservation.request_id}.`,
      );
    }
    const plan = this.plans[install.plan];
    if (!plan) {
      throw new UnknownPlanError(install.plan, install.id);
    }
    const updated = this.adjustBalance(
      row,
      { used: charged, reserved: -reservation.amount },
      now,
    );
    return toBalance(updated, install, plan);
  }

  private releaseReservation(
    reservation: ReservationRow,
    now: number,
  ): Balance {
    this.deleteReservation(reservation.request_id);
    this.appendEntry({
      kind: 'release',
      requestId: reservation.request_id,
      installId: reservation.install_id,
      periodStart: reservation.period_start,
      tier: reservation.tier,
      model: reservation.model,
      inputTokens: 0,
      cachedInputTokens: 0,
      outputTokens: 0,
      weight: reservation.weight,
      allowanceTokens: reservation.amount,
      estimated: false,
      createdAt: now,
    });
    return this.closeReservation(reservation, 0, now);
  }

  /** Explains why a request has no open reservation. */
  private describeClosedRequest(requestId: string): ClosedRequest {
    const entry = this.statement(SELECT_CLOSING_ENTRY_SQL).get(requestId) as
      LedgerRow | undefined;
    if (!entry) {
      return { status: 'not_found' };
    }
    if (entry.kind === 'release') {
      return { status: 'already_released' };
    }
    const install = this.selectInstall(entry.install_id);
    const plan = install ? this.plans[install.plan] : undefined;
    const row = this.statement(
      'SELECT * FROM balances WHERE install_id = ? AND period_start = ?',
    ).get(entry.install_id, entry.period_start) as BalanceRow | undefined;
    if (!install || !plan || !row) {
      return { status: 'not_found' };
    }
    return {
      status: 'already_settled' as const,
      charged: entry.allowance_tokens,
      weight: entry.weight,
      balance: toBalance(row, install, plan),
    };
  }

  private appendEntry(entry: NewLedgerEntry): void {
    this.statement(
      `INSERT INTO ledger_entries (kind, request_id, install_id, period_start,
           tier, model, input_tokens, cached_input_tokens, output_tokens,
           weight, allowance_tokens, estimated, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      entry.kind,
      entry.requestId,
      entry.installId,
      entry.periodStart,
      entry.tier,
      entry.model,
      entry.inputTokens,
      entry.cachedInputTokens,
      entry.outputTokens,
      entry.weight,
      entry.allowanceTokens,
      entry.estimated ? 1 : 0,
      entry.createdAt,
    );
  }
}
