/**
 * The billing tables (migration 3 of both stores): one row per Stripe
 * subscription and one per Stripe event handled. They are reached through
 * the dashboard's second connection, whose `?` statements run on SQLite
 * and PostgreSQL alike.
 */
import type { SpendDatabase } from '../dashboard/database';

export const SUBSCRIPTION_STATUSES = [
  'active',
  'past_due',
  'canceled',
] as const;
export type SubscriptionStatus = (typeof SUBSCRIPTION_STATUSES)[number];

/** A Stripe subscription as the backend remembers it. */
export interface SubscriptionRecord {
  subscriptionId: string;
  installId: string;
  customerId: string | undefined;
  /** The plan the subscription's price sells. */
  plan: string;
  priceId: string;
  status: SubscriptionStatus;
  /** End of the period Stripe last billed, when an invoice said so. */
  currentPeriodEnd: Date | undefined;
  createdAt: Date;
  updatedAt: Date;
}

interface SubscriptionRow {
  subscription_id: string;
  install_id: string;
  customer_id: string | null;
  plan: string;
  price_id: string;
  status: SubscriptionStatus;
  current_period_end: number | string | null;
  created_at: number | string;
  updated_at: number | string;
}

/** Reads and writes the billing tables. */
export class BillingStorage {
  constructor(private readonly database: SpendDatabase) {}

  /** Returns true when the event was handled before. */
  async hasEvent(eventId: string): Promise<boolean> {
    const rows = await this.database.all<{ found: number }>(
      'SELECT 1 AS found FROM billing_events WHERE event_id = ?',
      [eventId],
    );
    return rows.length > 0;
  }

  /**
   * Records a handled event with what was done. Returns false when it was
   * already recorded, by a concurrent delivery of the same event.
   */
  async recordEvent(event: {
    eventId: string;
    type: string;
    outcome: string;
    now: Date;
  }): Promise<boolean> {
    const changed = await this.database.run(
      `INSERT INTO billing_events (event_id, type, outcome, received_at)
         VALUES (?, ?, ?, ?)
         ON CONFLICT (event_id) DO NOTHING`,
      [event.eventId, event.type, event.outcome, event.now.getTime()],
    );
    return changed > 0;
  }

  /** Returns the outcome recorded for an event, if it was handled. */
  async findEventOutcome(eventId: string): Promise<string | undefined> {
    const rows = await this.database.all<{ outcome: string }>(
      'SELECT outcome FROM billing_events WHERE event_id = ?',
      [eventId],
    );
    return rows[0]?.outcome;
  }

  async findSubscription(
    subscriptionId: string,
  ): Promise<SubscriptionRecord | undefined> {
    const rows = await this.database.all<SubscriptionRow>(
      'SELECT * FROM billing_subscriptions WHERE subscription_id = ?',
      [subscriptionId],
    );
    return rows[0] ? toSubscription(rows[0]) : undefined;
  }

  /** Lists an install's subscriptions that are not cancelled, newest first. */
  async listLiveSubscriptions(
    installId: string,
  ): Promise<SubscriptionRecord[]> {
    const rows = await this.database.all<SubscriptionRow>(
      `SELECT * FROM billing_subscriptions
         WHERE install_id = ? AND status <> 'canceled'
         ORDER BY updated_at DESC, subscription_id`,
      [installId],
    );
    return rows.map(toSubscription);
  }

  /**
   * Creates or replaces a subscription. The creation time of an existing
   * row is kept.
   */
  async saveSubscription(
    record: Omit<SubscriptionRecord, 'createdAt' | 'updatedAt'>,
    now: Date,
  ): Promise<void> {
    await this.database.run(
      `INSERT INTO billing_subscriptions (subscription_id, install_id,
           customer_id, plan, price_id, status, current_period_end,
           created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (subscription_id) DO UPDATE SET
           install_id = excluded.install_id,
           customer_id = excluded.customer_id,
           plan = excluded.plan,
           price_id = excluded.price_id,
           status = excluded.status,
           current_period_end = excluded.current_period_end,
           updated_at = excluded.updated_at`,
      [
        record.subscriptionId,
        record.installId,
        record.customerId ?? null,
        record.plan,
        record.priceId,
        record.status,
        record.currentPeriodEnd?.getTime() ?? null,
        now.getTime(),
        now.getTime(),
      ],
    );
  }
}

// The PostgreSQL connection turns digit-only text into numbers, so text
// columns go through String().
function toSubscription(row: SubscriptionRow): SubscriptionRecord {
  return {
    subscriptionId: String(row.subscription_id),
    installId: String(row.install_id),
    customerId: row.customer_id === null ? undefined : String(row.customer_id),
    plan: String(row.plan),
    priceId: String(row.price_id),
    status: row.status,
    currentPeriodEnd:
      row.current_period_end === null
        ? undefined
        : new Date(Number(row.current_period_end)),
    createdAt: new Date(Number(row.created_at)),
    updatedAt: new Date(Number(row.updated_at)),
  };
}
