/**
 * The record of alerts already sent, in a table of the ledger's database,
 * so an alert goes out once per threshold and period even across restarts
 * and backend processes.
 */
import type { SpendDatabase } from '../dashboard/database';

/** Name of the table that records sent alerts. */
export const ALERT_TABLE = 'tokenwise_alerts_sent';

/**
 * Creates the table when it is missing. Two processes starting together
 * may both try, and PostgreSQL then fails one with a unique violation
 * (23505) on its catalog, so that error counts as success.
 */
export async function prepareAlertLog(database: SpendDatabase): Promise<void> {
  try {
    await createAlertTable(database);
  } catch (error) {
    if ((error as { code?: unknown }).code !== '23505') {
      throw error;
    }
  }
}

async function createAlertTable(database: SpendDatabase): Promise<void> {
  await database.run(
    `CREATE TABLE IF NOT EXISTS ${ALERT_TABLE} (
       alert_key TEXT PRIMARY KEY,
       sent_at BIGINT NOT NULL,
       text TEXT NOT NULL
     )`,
  );
}

/**
 * Records an alert under its key. Returns true when this call recorded it,
 * false when some process already had; only the caller that gets true
 * sends it.
 */
export async function claimAlert(
  database: SpendDatabase,
  alert: { key: string; text: string; now: Date },
): Promise<boolean> {
  const changes = await database.run(
    `INSERT INTO ${ALERT_TABLE} (alert_key, sent_at, text) VALUES (?, ?, ?)
       ON CONFLICT (alert_key) DO NOTHING`,
    [alert.key, alert.now.getTime(), alert.text],
  );
  return changes === 1;
}

/** A recorded alert. */
export interface SentAlert {
  key: string;
  sentAt: Date;
  text: string;
}

/** Returns the latest recorded alerts, newest first. */
export async function listSentAlerts(
  database: SpendDatabase,
  limit: number,
): Promise<SentAlert[]> {
  const rows = await database.all<{
    alert_key: string;
    sent_at: number;
    text: string;
  }>(
    `SELECT alert_key, sent_at, text FROM ${ALERT_TABLE}
      ORDER BY sent_at DESC LIMIT ?`,
    [limit],
  );
  return rows.map((row) => ({
    key: row.alert_key,
    sentAt: new Date(Number(row.sent_at)),
    text: row.text,
  }));
}
