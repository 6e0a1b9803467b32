/**
 * Everything the dashboard, /metrics, budgets and alerts share: the second
 * database connection, the prices, the alerter, the budget guard and the
 * HTTP metrics. The app creates one when TOKENWISE_DATABASE_URL is a file
 * or PostgreSQL database.
 */
import { formatModelRef } from '../../lib/catalog';
import { createAlerter, type Alerter } from '../alerts/alerter';
import { prepareAlertLog } from '../alerts/alert-log';
import { BudgetGuard } from '../budgets/budget-guard';
import { detectSpikes, type Spike } from '../budgets/spike-detector';
import type { Config } from '../config';
import type { Logger } from '../logger';
import { HttpMetrics } from '../metrics/http-metrics';
import { openSpendDatabase, type SpendDatabase } from './database';
import type { PriceLookup } from './spend';

/** How often the monitor checks budgets and spikes without a request. */
export const MONITOR_INTERVAL_MS = 60_000;

export interface SpendMonitor {
  database: SpendDatabase;
  /** Settles when the alert log table exists. */
  ready: Promise<void>;
  prices: PriceLookup;
  alerter: Alerter;
  budgets: BudgetGuard;
  httpMetrics: HttpMetrics;
  /** Detects spikes now and alerts them. */
  detectSpikes(now: Date): Promise<Spike[]>;
  /** Stops the timer, waits for alerts in flight and closes the connection. */
  close(): Promise<void>;
}

/**
 * Opens the monitor and starts its timer, which checks the budgets and
 * spikes every minute so alerts go out while no request arrives. Returns
 * undefined, with a warning, for a SQLite ":memory:" database, which a
 * second connection cannot open. Throws when the database cannot be
 * opened.
 */
export function openSpendMonitor(options: {
  config: Config;
  logger: Logger;
  now: () => Date;
}): SpendMonitor | undefined {
  const { config, logger } = options;
  if (
    config.database.kind === 'sqlite' &&
    config.database.path === ':memory:'
  ) {
    logger.warn(
      'the spend dashboard, budgets, alerts and /metrics are off because the database is :memory:',
    );
    return undefined;
  }
  const database = openSpendDatabase(config.database);
  const ready = prepareAlertLog(database);
  // Awaited by every alert; logged here so a failure is never unhandled.
  ready.catch((error: unknown) =>
    logger.error({ err: error }, 'alert log table could not be created'),
  );

  const prices: PriceLookup = {
    prices: config.prices,
    premiumModel: formatModelRef(config.premiumModel),
  };
  const alerter = createAlerter({
    database,
    ready,
    logger,
    webhook:
      config.alertWebhookUrl === undefined
        ? undefined
        : {
            url: config.alertWebhookUrl,
            baseDelayMs: config.alertRetryBaseDelayMs,
          },
  });
  const budgets = new BudgetGuard({
    settings: {
      dailyUsd: config.dailyBudgetUsd,
      monthlyUsd: config.monthlyBudgetUsd,
      softPercent: config.budgetSoftPercent,
      checkIntervalMs: config.budgetCheckSeconds * 1000,
    },
    database,
    prices,
    alerter,
  });
  const checkSpikes = (now: Date) =>
    detectSpikes({
      database,
      prices,
      alerter,
      now,
      settings: {
        factor: config.spikeFactor,
        minimumUsd: config.spikeMinimumUsd,
      },
    });

  let closed = false;
  const timer = setInterval(() => {
    const now = options.now();
    Promise.all([budgets.getStatuses(now), checkSpikes(now)]).catch(
      (error: unknown) =>
        logger.error({ err: error }, 'budget and spike check failed'),
    );
  }, MONITOR_INTERVAL_MS);
  timer.unref();

  return {
    database,
    ready,
    prices,
    alerter,
    budgets,
    httpMetrics: new HttpMetrics(),
    detectSpikes: checkSpikes,
    close: async () => {
      // The app and the server may both close it.
      if (closed) {
        return;
      }
      closed = true;
      clearInterval(timer);
      await ready.catch(() => undefined);
      await alerter.flush();
      await database.close();
    },
  };
}
