/**
 * PostgreSQL schema migrations, applied in order on start inside one
 * transaction that holds an advisory lock, so backends starting together
 * migrate once. Never edit a migration that has shipped; add a new one
 * with the next version.
 *
 * The columns match the SQLite store's: times are BIGINT milliseconds
 * since the Unix epoch, UTC, and flags are SMALLINT 0 or 1.
 */
import type { Migration } from './sqlite-migrations';

export const POSTGRES_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'installs, ledger, reservations, balances, backend instances',
    sql: `
      CREATE TABLE installs (
        id TEXT PRIMARY KEY,
        created_at BIGINT NOT NULL,
        plan TEXT NOT NULL,
        revoked SMALLINT NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1))
      );

      CREATE TABLE ledger_entries (
        id BIGSERIAL PRIMARY KEY,
        kind TEXT NOT NULL CHECK (
          kind IN ('reserve', 'settle', 'release', 'grant', 'cache_hit', 'reset')
        ),
        request_id TEXT,
        install_id TEXT NOT NULL REFERENCES installs (id),
        period_start BIGINT NOT NULL,
        tier TEXT CHECK (tier IN ('cheap', 'premium')),
        model TEXT,
        input_tokens BIGINT NOT NULL DEFAULT 0 CHECK (input_tokens >= 0),
        cached_input_tokens BIGINT NOT NULL DEFAULT 0
          CHECK (cached_input_tokens >= 0),
        output_tokens BIGINT NOT NULL DEFAULT 0 CHECK (output_tokens >= 0),
        weight DOUBLE PRECISION NOT NULL DEFAULT 1 CHECK (weight > 0),
        allowance_tokens BIGINT NOT NULL CHECK (allowance_tokens >= 0),
        estimated SMALLINT NOT NULL DEFAULT 0 CHECK (estimated IN (0, 1)),
        created_at BIGINT NOT NULL
      );
      CREATE INDEX ledger_entries_install_created
        ON ledger_entries (install_id, created_at);
      -- One reserve, and at most one settle or release, per request.
      CREATE UNIQUE INDEX ledger_entries_request_kind
        ON ledger_entries (request_id, kind)
        WHERE request_id IS NOT NULL AND kind IN ('reserve', 'settle', 'release');
      CREATE FUNCTION reject_ledger_change() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
          RAISE EXCEPTION 'ledger_entries is append-only';
        END;
        $$;
      CREATE TRIGGER ledger_entries_no_update_or_delete
        BEFORE UPDATE OR DELETE ON ledger_entries
        FOR EACH ROW EXECUTE FUNCTION reject_ledger_change();
      CREATE TRIGGER ledger_entries_no_truncate
        BEFORE TRUNCATE ON ledger_entries
        FOR EACH STATEMENT EXECUTE FUNCTION reject_ledger_change();

      CREATE TABLE backend_instances (
        id TEXT PRIMARY KEY,
        host TEXT NOT NULL,
        pid INTEGER NOT NULL,
        started_at BIGINT NOT NULL,
        heartbeat_at BIGINT NOT NULL
      );

      CREATE TABLE reservations (
        request_id TEXT PRIMARY KEY,
        install_id TEXT NOT NULL REFERENCES installs (id),
        period_start BIGINT NOT NULL,
        tier TEXT NOT NULL CHECK (tier IN ('cheap', 'premium')),
        model TEXT NOT NULL,
        weight DOUBLE PRECISION NOT NULL CHECK (weight > 0),
        input_tokens BIGINT NOT NULL,
        max_output_tokens BIGINT NOT NULL,
        amount BIGINT NOT NULL CHECK (amount >= 0),
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        instance_id TEXT
      );
      CREATE INDEX reservations_expires_at ON reservations (expires_at);
      CREATE INDEX reservations_instance_id ON reservations (instance_id);

      CREATE TABLE balances (
        install_id TEXT NOT NULL REFERENCES installs (id),
        period_start BIGINT NOT NULL,
        period_end BIGINT NOT NULL,
        allowance BIGINT NOT NULL CHECK (allowance >= 0),
        granted BIGINT NOT NULL DEFAULT 0 CHECK (granted >= 0),
        used BIGINT NOT NULL DEFAULT 0 CHECK (used >= 0),
        reserved BIGINT NOT NULL DEFAULT 0 CHECK (reserved >= 0),
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (install_id, period_start),
        -- The ledger's promise: nothing spends past the allowance.
        CHECK (used + reserved <= allowance + granted)
      );
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
        current_period_end BIGINT,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
      );
      CREATE INDEX billing_subscriptions_install
        ON billing_subscriptions (install_id);

      -- Every Stripe event handled, so a redelivery changes nothing.
      CREATE TABLE billing_events (
        event_id TEXT PRIMARY KEY,
        type TEXT NOT NULL,
        outcome TEXT NOT NULL,
        received_at BIGINT NOT NULL
      );
    `,
  },
  {
    version: 4,
    name: 'installs deleted at the user request',
    sql: `
      -- Set when the user deletes the install's data; the install is then
      -- revoked, and its ledger rows stay for accounting.
      ALTER TABLE installs ADD COLUMN deleted_at BIGINT;
    `,
  },
];
