/**
 * Sends each alert once: the key is claimed in the alert log first, then
 * the webhook is called in the background. Without a webhook URL the
 * alert is only logged.
 */
import type { SpendDatabase } from '../dashboard/database';
import type { Logger } from '../logger';
import { claimAlert } from './alert-log';
import { sendWebhookAlert, type WebhookOptions } from './webhook';

export interface Alerter {
  /**
   * Claims the alert and, when this call claimed it, sends it. Never
   * throws: failures are logged.
   */
  raise(alert: { key: string; text: string; now: Date }): Promise<void>;
  /** Waits for the deliveries in flight. */
  flush(): Promise<void>;
}

/** Creates the alerter for a database and an optional webhook. */
export function createAlerter(options: {
  database: SpendDatabase;
  /** Settles when the alert log table exists. */
  ready: Promise<void>;
  logger: Logger;
  webhook: Omit<WebhookOptions, 'logger'> | undefined;
}): Alerter {
  const deliveries = new Set<Promise<unknown>>();
  return {
    raise: async (alert) => {
      // A failure to record an alert is logged, never passed to the chat
      // or dashboard request that raised it.
      let claimed: boolean;
      try {
        await options.ready;
        claimed = await claimAlert(options.database, alert);
      } catch (error) {
        options.logger.error(
          { err: error, alert: alert.key },
          'alert could not be recorded',
        );
        return;
      }
      if (!claimed) {
        return;
      }
      options.logger.warn({ alert: alert.key, text: alert.text }, 'alert');
      if (options.webhook === undefined) {
        return;
      }
      // NOTE: an alert whose every attempt fails stays claimed, so it is
      // logged as undelivered and not sent again.
      const delivery = sendWebhookAlert(
        { ...options.webhook, logger: options.logger },
        alert,
      );
      deliveries.add(delivery);
      void delivery.finally(() => deliveries.delete(delivery));
    },
    flush: async () => {
      await Promise.all([...deliveries]);
    },
  };
}
