/**
 * The networked store: PostgreSQL through a `pg` pool, so several backend
 * processes share one ledger. Every change runs in one transaction that
 * locks the install's balance row (`SELECT ... FOR UPDATE`) before it reads
 * it, so concurrent reservations from any process see each other's holds.
 * Settlement and release claim the reservation with one DELETE ...
 * RETURNING, so exactly one of two racing calls closes it.
 */
import pg from 'pg';
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
import { POSTGRES_MIGRATIONS } from './postgres-migrations';
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
import type { Migration } from './sqlite-migrations';
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

export interface OpenPostgresStoreOptions {
  /** `postgres://` connection URL. */
  url: string;
  /** Plans by name; installs reference one by name. */
  plans: Readonly<Record<string, Plan>>;
  /**
   * Schema that holds the tables, created when missing; the URL's
   * search_path (often `public`) when omitted.
   */
  schema?: string;
  /** Connections in the pool; defaults to 10. */
  poolSize?: number;
}

const DAY_MS = 86_400_000;
/** PostgreSQL's type id of BIGINT, which pg returns as a string by default. */
const INT8_TYPE_ID = 20;
/** SQLSTATE of a unique constraint violation. */
const UNIQUE_VIOLATION = '23505';

type Client = pg.PoolClient;

/**
 * Opens a pool and migrates the schema. Throws when the database cannot
 * be reached or a migration fails.
 */
export async function openPostgresStore(
  options: OpenPostgresStoreOptions,
): Promise<Store> {
  if (
    options.schema !== undefined &&
    !/^[a-z_][a-z0-9_]*$/.test(options.schema)
  ) {
    throw new Error(
      `The PostgreSQL schema name "${options.schema}" is invalid; use lowercase letters, digits and underscores.`,
    );
  }
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize ?? 10,
    ...(options.schema === undefined
      ? {}
      : { options: `-c search_path=${options.schema}` }),
    types: {
      getTypeParser: ((typeId: number, format?: string) =>
        typeId === INT8_TYPE_ID
          ? Number
          : pg.types.getTypeParser(typeId, format as 'text')) as never,
    },
  });
  // An idle client's connection error must not crash the process; the
  // next query on the pool reports it.
  pool.on('error', () => undefined);

  try {
    if (options.schema !== undefined) {
      await pool.query(`CREATE SCHEMA IF NOT EXISTS ${options.schema}`);
    }
    await migratePostgres(pool, POSTGRES_MIGRATIONS);
    const instance = createBackendInstance();
    const now = Date.now();
    await pool.query(
      `INSERT INTO backend_instances (id, host, pid, started_at, heartbeat_at)
         VALUES ($1, $2, $3, $4, $5)`,
      [instance.id, instance.host, instance.pid, now, now],
    );
    return new PostgresStore(pool, options.plans, instance);
  } catch (error) {
    await pool.end();
    throw error;
  }
}

/**
 * Applies the migrations the schema has not seen, all in one transaction
 * under an advisory lock keyed by the schema, and returns their versions.
 */
export async function migratePostgres(
  pool: pg.Pool,
  migrations: readonly Migration[],
): Promise<number[]> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(
      "SELECT pg_advisory_xact_lock(hashtext('tokenwise:' || current_schema()))",
    );
    await client.query(`
      CREATE TABLE IF NOT EXISTS schema_migrations (
        version INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        applied_at BIGINT NOT NULL
      )
    `);
    const seen = await client.query<{ version: number }>(
      'SELECT version FROM schema_migrations',
    );
    const seenVersions = new Set(seen.rows.map((row) => row.version));
    const applied: number[] = [];
    for (const migration of [...migrations].sort(
      (left, right) => left.version - right.version,
    )) {
      if (seenVersions.has(migration.version)) {
        continue;
      }
      await client.query(migration.sql);
      await client.query(
        'INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)',
        [migration.version, migration.name, Date.now()],
      );
      applied.push(migration.version);
    }
    await client.query('COMMIT');
    return applied;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

class PostgresStore implements Store {
  private closed = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly plans: Readonly<Record<string, Plan>>,
    private readonly instance: BackendInstance,
  ) {}

  /** Runs `work` in a transaction on one pooled connection. */
  private async transaction<T>(
    work: (client: Client) => Promise<T>,
  ): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      client.release();
      return result;
    } catch (error) {
      try {
        await client.query('ROLLBACK');
        client.release();
      } catch (rollbackError) {
        client.release(rollbackError as Error);
      }
      throw error;
    }
  }

  async createInstall(request: CreateInstallRequest): Promise<InstallRecord> {
    const createdAt = Math.floor(request.now.getTime() / 1000) * 1000;
    await this.pool.query(
      'INSERT INTO installs (id, created_at, plan, revoked) VALUES ($1, $2, $3, 0)',
      [request.id, createdAt, request.plan],
    );
    return {
      id: request.id,
      createdAt: new Date(createdAt),
      plan: request.plan,
      revoked: false,
    };
  }

  async getInstall(installId: string): Promise<InstallRecord | undefined> {
    const result = await this.pool.query<InstallRow>(
      'SELECT * FROM installs WHERE id = $1',
      [installId],
    );
    const row = result.rows[0];
    return row ? toInstall(row) : undefined;
  }

  async reserve(request: ReserveRequest): Promise<ReserveResult> {
    try {
      return await this.transaction((client) =>
        this.reserveInTransaction(client, request),
      );
    } catch (error) {
      // Another install's request with the same id won the race for the
      // unique index.
      if ((error as { code?: string }).code === UNIQUE_VIOLATION) {
        return { status: 'duplicate_request' };
      }
      throw error;
    }
  }

  private async reserveInTransaction(
    client: Client,
    request: ReserveRequest,
  ): Promise<ReserveResult> {
    const now = request.now.getTime();
    const { install, plan, row } = await this.ensurePeriod(
      client,
      request.installId,
      now,
    );
    // Checked under the balance lock, so a retried request of this install
    // sees the first one's entry.
    const duplicate = await client.query(
      "SELECT 1 FROM ledger_entries WHERE request_id = $1 AND kind = 'reserve'",
      [request.requestId],
    );
    if (duplicate.rowCount) {
      return { status: 'duplicate_request' };
    }

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
    await client.query(
      `INSERT INTO reservations (request_id, install_id, period_start, tier,
           model, weight, input_tokens, max_output_tokens, amount,
           created_at, expires_at, instance_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
      [
        request.requestId,
        install.id,
        row.period_start,
        request.tier,
        request.model,
        weight,
        request.inputTokens,
        maxOutputTokens,
        amount,
        now,
        request.expiresAt.getTime(),
        this.instance.id,
      ],
    );
    await this.appendEntry(client, {
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
    const updated = await this.adjustBalance(
      client,
      row,
      { reserved: amount },
      now,
    );
    return {
      status: 'reserved',
      reservation: {
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
      },
      balance: toBalance(updated, install, plan),
    };
  }

  async settle(request: SettleRequest): Promise<SettleResult> {
    if (request.model !== undefined && request.model.trim() === '') {
      throw new RangeError(
        `The settled model of request ${request.requestId} is empty; pass a model name or leave it out.`,
      );
    }
    return this.transaction(async (client): Promise<SettleResult> => {
      const reservation = await this.claimReservation(
        client,
        request.requestId,
      );
      if (!reservation) {
        return this.describeClosedRequest(client, request.requestId);
      }

      const now = request.now.getTime();
      const { usage } = request;
      const charged = Math.min(
        weighTokens(reservation.weight, usage.inputTokens + usage.outputTokens),
        reservation.amount,
      );
      await this.appendEntry(client, {
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
      const balance = await this.closeReservation(
        client,
        reservation,
        charged,
        now,
      );
      return {
        status: 'settled',
        charged,
        weight: reservation.weight,
        balance,
      };
    });
  }

  async release(request: ReleaseRequest): Promise<ReleaseResult> {
    return this.transaction(async (client): Promise<ReleaseResult> => {
      const reservation = await this.claimReservation(
        client,
        request.requestId,
      );
      if (!reservation) {
        const closed = await this.describeClosedRequest(
          client,
          request.requestId,
        );
        return { status: closed.status };
      }
      const balance = await this.releaseClaimed(
        client,
        reservation,
        request.now.getTime(),
      );
      return { status: 'released', amount: reservation.amount, balance };
    });
  }

  async releaseExpiredReservations(now: Date): Promise<Reservation[]> {
    const time = now.getTime();
    await this.transaction((client) => this.forgetGoneInstances(client, time));

    // A reservation whose holder is not in backend_instances belongs to a
    // process that is gone, or to one that closed with answers in flight.
    const candidates = await this.pool.query<{ request_id: string }>(
      `SELECT request_id FROM reservations
         WHERE expires_at <= $1
            OR instance_id IS NULL
            OR instance_id NOT IN (SELECT id FROM backend_instances)`,
      [time],
    );
    const released: Reservation[] = [];
    for (const { request_id: requestId } of candidates.rows) {
      // Each in its own transaction, so one busy install does not hold the
      // sweep; a reservation settled meanwhile is no longer there to claim.
      const reservation = await this.transaction(async (client) => {
        const claimed = await this.claimReservation(client, requestId);
        if (claimed) {
          await this.releaseClaimed(client, claimed, time);
        }
        return claimed;
      });
      if (reservation) {
        released.push(toReservation(reservation));
      }
    }
    return released;
  }

  async grant(request: GrantRequest): Promise<Balance> {
    if (!Number.isSafeInteger(request.tokens) || request.tokens <= 0) {
      throw new RangeError(
        `A grant must be a positive whole number of tokens, not ${request.tokens}.`,
      );
    }
    return this.transaction(async (client) => {
      const now = request.now.getTime();
      const { install, plan, row } = await this.ensurePeriod(
        client,
        request.installId,
        now,
      );
      if (
        row.allowance + row.granted + request.tokens >
        MAX_PERIOD_ALLOWANCE_TOKENS
      ) {
        throw new RangeError(
          `A grant of ${request.tokens} tokens would lift the period's allowance past the maximum of ${MAX_PERIOD_ALLOWANCE_TOKENS}.`,
        );
      }
      await this.appendEntry(client, {
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
      const updated = await this.adjustBalance(
        client,
        row,
        { granted: request.tokens },
        now,
      );
      return toBalance(updated, install, plan);
    });
  }

  async changePlan(request: ChangePlanRequest): Promise<Balance> {
    const newPlan = this.plans[request.plan];
    if (!newPlan) {
      throw new UnknownPlanError(request.plan);
    }
    return this.transaction(async (client) => {
      const now = request.now.getTime();
      const { install, row } = await this.ensurePeriod(
        client,
        request.installId,
        now,
      );
      await client.query('UPDATE installs SET plan = $1 WHERE id = $2', [
        newPlan.name,
        install.id,
      ]);
      const allowance = allowanceAfterPlanChange({
        planAllowance: newPlan.allowanceTokens,
        granted: row.granted,
        used: row.used,
        reserved: row.reserved,
      });
      await client.query(
        `UPDATE balances SET allowance = $1, updated_at = $2
           WHERE install_id = $3 AND period_start = $4`,
        [allowance, now, install.id, row.period_start],
      );
      await this.appendEntry(client, {
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
  }

  async recordCacheHit(request: CacheHitRequest): Promise<Balance> {
    return this.transaction(async (client) => {
      const now = request.now.getTime();
      const { install, plan, row } = await this.ensurePeriod(
        client,
        request.installId,
        now,
        { lock: false },
      );
      const weight = request.tier === 'premium' ? plan.premiumWeight : 1;
      const { usage } = request;
      await this.appendEntry(client, {
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
  }

  async getBalance(installId: string, now: Date): Promise<Balance> {
    return this.transaction(async (client) => {
      const { install, plan, row } = await this.ensurePeriod(
        client,
        installId,
        now.getTime(),
        { lock: false },
      );
      return toBalance(row, install, plan);
    });
  }

  async getDailyUsage(
    installId: string,
    range: { since: Date; until: Date },
  ): Promise<DailyUsage[]> {
    const firstDay = startOfUtcDay(range.since.getTime());
    const lastDay = startOfUtcDay(range.until.getTime());
    const result = await this.pool.query<DailyTotalRow>(
      `SELECT to_char(to_timestamp(created_at / 1000.0) AT TIME ZONE 'UTC',
                 'YYYY-MM-DD') AS date,
               kind, tier, SUM(allowance_tokens) AS tokens
         FROM ledger_entries
         WHERE install_id = $1 AND kind IN ('settle', 'cache_hit')
           AND created_at >= $2 AND created_at < $3
         GROUP BY 1, kind, tier`,
      [installId, firstDay, lastDay + DAY_MS],
    );
    return buildDailySeries(firstDay, lastDay, result.rows);
  }

  async getModelUsage(
    installId: string,
    range: { since: Date; until: Date },
  ): Promise<ModelUsage[]> {
    const result = await this.pool.query<ModelUsageRow>(
      `SELECT model, tier,
           COUNT(*) FILTER (WHERE kind = 'settle') AS requests,
           COALESCE(SUM(input_tokens) FILTER (WHERE kind = 'settle'), 0) AS input_tokens,
           COALESCE(SUM(cached_input_tokens) FILTER (WHERE kind = 'settle'), 0) AS cached_input_tokens,
           COALESCE(SUM(output_tokens) FILTER (WHERE kind = 'settle'), 0) AS output_tokens,
           COALESCE(SUM(allowance_tokens) FILTER (WHERE kind = 'settle'), 0) AS charged,
           COUNT(*) FILTER (WHERE kind = 'cache_hit') AS cache_hits,
           COALESCE(SUM(allowance_tokens) FILTER (WHERE kind = 'cache_hit'), 0) AS saved
         FROM ledger_entries
         WHERE install_id = $1 AND kind IN ('settle', 'cache_hit')
           AND created_at >= $2 AND created_at < $3
         GROUP BY model, tier
         ORDER BY charged DESC, model`,
      [installId, range.since.getTime(), range.until.getTime()],
    );
    return result.rows.map(toModelUsage);
  }

  async deleteInstallData(
    request: DeleteInstallDataRequest,
  ): Promise<DeleteInstallDataResult> {
    return this.transaction(
      async (client): Promise<DeleteInstallDataResult> => {
        // The row lock makes concurrent deletions of one install take turns.
        const selected = await client.query<InstallRow>(
          'SELECT * FROM installs WHERE id = $1 FOR UPDATE',
          [request.installId],
        );
        const install = selected.rows[0];
        if (!install) {
          return { status: 'not_found' };
        }
        const alreadyDeletedAt =
          install.deleted_at === null || install.deleted_at === undefined
            ? undefined
            : Number(install.deleted_at);
        const subscriptions = await client.query<{ subscription_id: string }>(
          `SELECT subscription_id FROM billing_subscriptions
             WHERE install_id = $1 AND status <> 'canceled'
             ORDER BY subscription_id`,
          [request.installId],
        );
        if (subscriptions.rows.length > 0) {
          return {
            status: 'subscription_active',
            subscriptionIds: subscriptions.rows.map(
              (row) => row.subscription_id,
            ),
          };
        }
        const deletedAt = alreadyDeletedAt ?? request.now.getTime();
        if (alreadyDeletedAt === undefined) {
          await client.query(
            'UPDATE installs SET revoked = 1, deleted_at = $1 WHERE id = $2',
            [deletedAt, request.installId],
          );
        }

        // The spend monitor creates the alert table on start, so a store
        // used without it may not have one.
        const alertTable = await client.query<{ name: string | null }>(
          'SELECT to_regclass($1)::text AS name',
          [ALERT_TABLE],
        );
        if (alertTable.rows[0]?.name) {
          const prefix = spikeAlertPrefix(request.installId);
          await client.query(
            `DELETE FROM ${ALERT_TABLE}
               WHERE substr(alert_key, 1, length($1)) = $1`,
            [prefix],
          );
        }

        const kept = await client.query<{ count: string }>(
          'SELECT COUNT(*) AS count FROM ledger_entries WHERE install_id = $1',
          [request.installId],
        );
        return {
          status:
            alreadyDeletedAt === undefined ? 'deleted' : 'already_deleted',
          deletedAt: new Date(deletedAt),
          ledgerEntriesKept: Number(kept.rows[0]?.count ?? 0),
        };
      },
    );
  }

  async listLedgerEntries(installId: string): Promise<LedgerEntry[]> {
    const result = await this.pool.query<LedgerRow>(
      'SELECT * FROM ledger_entries WHERE install_id = $1 ORDER BY id',
      [installId],
    );
    return result.rows.map(toLedgerEntry);
  }

  async close(): Promise<void> {
    if (this.closed) {
      return;
    }
    this.closed = true;
    try {
      // Reservations still held become orphans that the next sweep releases.
      await this.pool.query('DELETE FROM backend_instances WHERE id = $1', [
        this.instance.id,
      ]);
    } finally {
      await this.pool.end();
    }
  }

  /**
   * Records this process's heartbeat and deletes the rows of processes
   * that are gone, which makes their reservations orphans.
   */
  private async forgetGoneInstances(
    client: Client,
    now: number,
  ): Promise<void> {
    await client.query(
      `INSERT INTO backend_instances (id, host, pid, started_at, heartbeat_at)
         VALUES ($1, $2, $3, $4, $4)
         ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at`,
      [this.instance.id, this.instance.host, this.instance.pid, now],
    );
    const others = await client.query<{
      id: string;
      host: string;
      pid: number;
      started_at: number;
      heartbeat_at: number;
    }>(
      'SELECT id, host, pid, started_at, heartbeat_at FROM backend_instances WHERE id <> $1',
      [this.instance.id],
    );
    for (const other of others.rows) {
      if (
        other.heartbeat_at <= now - STALE_INSTANCE_MS ||
        isLocalProcessGone(this.instance, other)
      ) {
        await client.query('DELETE FROM backend_instances WHERE id = $1', [
          other.id,
        ]);
      }
    }
  }

  /** Deletes a reservation and returns it; undefined when it is gone. */
  private async claimReservation(
    client: Client,
    requestId: string,
  ): Promise<ReservationRow | undefined> {
    const result = await client.query<ReservationRow>(
      'DELETE FROM reservations WHERE request_id = $1 RETURNING *',
      [requestId],
    );
    return result.rows[0];
  }

  /**
   * Returns the balance row of the period containing `now`, locked unless
   * `lock` is false, inserting it and a reset entry when the period is new.
   */
  private async ensurePeriod(
    client: Client,
    installId: string,
    now: number,
    options: { lock?: boolean } = {},
  ): Promise<{ install: InstallRow; plan: Plan; row: BalanceRow }> {
    const installResult = await client.query<InstallRow>(
      'SELECT * FROM installs WHERE id = $1',
      [installId],
    );
    const install = installResult.rows[0];
    if (!install) {
      throw new InstallNotFoundError(installId);
    }
    const plan = this.plans[install.plan];
    if (!plan) {
      throw new UnknownPlanError(install.plan, install.id);
    }

    const period = findPeriod(new Date(install.created_at), new Date(now));
    const periodStart = period.start.getTime();
    // Only the transaction whose insert wins writes the reset entry; a
    // racing one waits for it on the primary key and inserts nothing.
    const inserted = await client.query(
      `INSERT INTO balances (install_id, period_start, period_end, allowance,
           granted, used, reserved, updated_at)
         VALUES ($1, $2, $3, $4, 0, 0, 0, $5)
         ON CONFLICT (install_id, period_start) DO NOTHING`,
      [installId, periodStart, period.end.getTime(), plan.allowanceTokens, now],
    );
    if (inserted.rowCount) {
      await this.appendEntry(client, {
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
    }
    const lock = options.lock ?? true;
    const rowResult = await client.query<BalanceRow>(
      `SELECT * FROM balances WHERE install_id = $1 AND period_start = $2
         ${lock ? 'FOR UPDATE' : ''}`,
      [installId, periodStart],
    );
    const row = rowResult.rows[0];
    if (!row) {
      throw new Error(
        `The balance of install ${installId} for the period starting ${period.start.toISOString()} is missing right after it was created.`,
      );
    }
    return { install, plan, row };
  }

  private async adjustBalance(
    client: Client,
    row: BalanceRow,
    change: { granted?: number; used?: number; reserved?: number },
    now: number,
  ): Promise<BalanceRow> {
    const result = await client.query<BalanceRow>(
      `UPDATE balances
         SET granted = granted + $1, used = used + $2,
             reserved = reserved + $3, updated_at = $4
         WHERE install_id = $5 AND period_start = $6
         RETURNING *`,
      [
        change.granted ?? 0,
        change.used ?? 0,
        change.reserved ?? 0,
        now,
        row.install_id,
        row.period_start,
      ],
    );
    const updated = result.rows[0];
    if (!updated) {
      throw new Error(
        `The balance of install ${row.install_id} for the period starting ${new Date(row.period_start).toISOString()} is missing.`,
      );
    }
    return updated;
  }

  /** Moves a claimed reservation's hold to `used` (charged) and frees the rest. */
  private async closeReservation(
    client: Client,
    reservation: ReservationRow,
    charged: number,
    now: number,
  ): Promise<Balance> {
    const installResult = await client.query<InstallRow>(
      'SELECT * FROM installs WHERE id = $1',
      [reservation.install_id],
    );
    const install = installResult.rows[0];
    if (!install) {
      throw new InstallNotFoundError(reservation.install_id);
    }
    const plan = this.plans[install.plan];
    if (!plan) {
      throw new UnknownPlanError(install.plan, install.id);
    }
    const updated = await this.adjustBalance(
      client,
      {
        install_id: reservation.install_id,
        period_start: reservation.period_start,
      } as BalanceRow,
      { used: charged, reserved: -reservation.amount },
      now,
    );
    return toBalance(updated, install, plan);
  }

  private async releaseClaimed(
    client: Client,
    reservation: ReservationRow,
    now: number,
  ): Promise<Balance> {
    await this.appendEntry(client, {
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
    return this.closeReservation(client, reservation, 0, now);
  }

  /** Explains why a request has no open reservation. */
  private async describeClosedRequest(
    client: Client,
    requestId: string,
  ): Promise<
    | {
        status: 'already_settled';
        charged: number;
        weight: number;
        balance: Balance;
      }
    | { status: 'already_released' | 'not_found' }
  > {
    const entryResult = await client.query<LedgerRow>(
      `SELECT * FROM ledger_entries
         WHERE request_id = $1 AND kind IN ('settle', 'release')`,
      [requestId],
    );
    const entry = entryResult.rows[0];
    if (!entry) {
      return { status: 'not_found' };
    }
    if (entry.kind === 'release') {
      return { status: 'already_released' };
    }
    const installResult = await client.query<InstallRow>(
      'SELECT * FROM installs WHERE id = $1',
      [entry.install_id],
    );
    const install = installResult.rows[0];
    const plan = install ? this.plans[install.plan] : undefined;
    const rowResult = await client.query<BalanceRow>(
      'SELECT * FROM balances WHERE install_id = $1 AND period_start = $2',
      [entry.install_id, entry.period_start],
    );
    const row = rowResult.rows[0];
    if (!install || !plan || !row) {
      return { status: 'not_found' };
    }
    return {
      status: 'already_settled',
      charged: entry.allowance_tokens,
      weight: entry.weight,
      balance: toBalance(row, install, plan),
    };
  }

  private async appendEntry(
    client: Client,
    entry: NewLedgerEntry,
  ): Promise<void> {
    await client.query(
      `INSERT INTO ledger_entries (kind, request_id, install_id, period_start,
           tier, model, input_tokens, cached_input_tokens, output_tokens,
           weight, allowance_tokens, estimated, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
      [
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
      ],
    );
  }
}
