/**
 * SQLite schema migrations, applied in order on start. Never edit a
 * migration that has shipped; add a new one with the next version.
 *
 * Times are INTEGER milliseconds since the Unix epoch, UTC.
 */

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const SQLITE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'installs, ledger, reservations, balances',
    sql: `
      CREATE TABLE installs (
        id TEXT PRIMARY KEY,
        created_at INTEGER NOT NULL,
        plan TEXT NOT NULL,
        revoked INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1))
      );

      CREATE TABLE ledger_entries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL CHECK (
          kind IN ('reserve', 'settle', 'release', 'grant', 'cache_hit', 'reset')
        ),
        request_id TEXT,
        install_id TEXT NOT NULL REFERENCES installs (id),
        period_start INTEGER NOT NULL,
        tier TEXT CHECK (tier IN ('cheap', 'premium')),
        model TEXT,
        input_tokens INTEGER NOT NULL DEFAULT 0 CHECK (input_tokens >= 0),
        cached_input_tokens INTEGER NOT NULL DEFAULT 0
          CHECK (cached_input_tokens >= 0),
        output_tokens INTEGER NOT NULL DEFAULT 0 CHECK (output_tokens >= 0),
        weight REAL NOT NULL DEFAULT 1 CHECK (weight > 0),
        allowance_tokens INTEGER NOT NULL CHECK (allowance_tokens >= 0),
        estimated INTEGER NOT NULL DEFAULT 0 CHECK (estimated IN (0, 1)),
        created_at INTEGER NOT NULL
      );
      CREATE INDEX ledger_entries_install_created
        ON ledger_entries (install_id, created_at);
      -- One reserve, and at most one settle or release, per request.
      CREATE UNIQUE INDEX ledger_entries_request_kind
        ON ledger_entries (request_id, kind)
        WHERE request_id IS NOT NULL AND kind IN ('reserve', 'settle', 'release');
      CREATE TRIGGER ledger_entries_no_update
        BEFORE UPDATE ON ledger_entries
        BEGIN SELECT RAISE(ABORT, 'ledger_entries is append-only'); END;
      CREATE TRIGGER ledger_entries_no_delete
        BEFORE DELETE ON ledger_entries
        BEGIN SELECT RAISE(ABORT, 'ledger_entries is append-only'); END;

      CREATE TABLE reservations (
        request_id TEXT PRIMARY KEY,
        install_id TEXT NOT NULL REFERENCES installs (id),
        period_start INTEGER NOT NULL,
        tier TEXT NOT NULL CHECK (tier IN ('cheap', 'premium')),
        model TEXT NOT NULL,
        weight REAL NOT NULL CHECK (weight > 0),
        input_tokens INTEGER NOT NULL,
        max_output_tokens INTEGER NOT NULL,
        amount INTEGER NOT NULL CHECK (amount >= 0),
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      );
      CREATE INDEX reservations_expires_at ON reservations (expires_at);

      CREATE TABLE balances (
        install_id TEXT NOT NULL REFERENCES installs (id),
        period_start INTEGER NOT NULL,
        period_end INTEGER NOT NULL,
        allowance INTEGER NOT NULL CHECK (allowance >= 0),
        granted INTEGER NOT NULL DEFAULT 0 CHECK (granted >= 0),
        used INTEGER NOT NULL DEFAULT 0 CHECK (used >= 0),
        reserved INTEGER NOT NULL DEFAULT 0 CHECK (reserved >= 0),
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (install_id, period_start),
        -- The ledger's promise: nothing spends past the allowance.
        CHECK (used + reserved <= allowance + granted)
      );
    `,
  },
  {
    version: 2,
    name: 'backend instances that hold reservations',
    sql: `
      CREATE TABLE backend_instances (
        id TEXT PRIMARY KEY,
        host TEXT NOT NULL,
        pid INTEGER NOT NULL,
        started_at INTEGER NOT NULL,
        heartbeat_at INTEGER NOT NULL
      );
      -- NULL for reservations made before this migration.
      ALTER TABLE reservations ADD COLUMN instance_id TEXT;
      CREATE INDEX reservations_instance_id ON reservations (instance_id);
    `,
  },
  {
    version: 3,
    name: 'billing subscriptions and processed Stripe events',
    sql: `
      -- One row per Stripe subscription; the install's plan follows it.
      CREATE TABLE billing_subscriptions (
        subscription_id TEXT PRIMARY KEY,
        install_id TEXT NOT NULL REFERENCES installs (id),
        customer_id TEXT,
        plan TEXT NOT NULL,
        price_id TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('active', 'past_due', 'canceled')),
        current_period_end INTEGER,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE INDEX billing_subscriptions_install
        ON billing_subscriptions (install_id);

      -- Every Stripe event handled, so a redelivery changes nothing.
      CREATE TABLE billing_events (
        event_id TEXT PRIMARY KEY,
        type TEXT NOT NULL,
        outcome TEXT NOT NULL,
        received_at INTEGER NOT NULL
      );
    `,
  },
  {
    version: 4,
    name: 'installs deleted at the user request',
    sql: `
      -- Set when the user deletes the install's data; the install is then
      -- revoked, and its ledger rows stay for accounting.
      ALTER TABLE installs ADD COLUMN deleted_at INTEGER;
    `,
  },
];
