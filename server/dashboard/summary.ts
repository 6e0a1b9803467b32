/**
 * The JSON that the dashboard page fetches every few seconds.
 */
import type { Spike } from '../budgets/spike-detector';
import type { BudgetStatus } from '../budgets/budget-guard';
import { listSentAlerts, type SentAlert } from '../alerts/alert-log';
import { queryHourlyRows, querySpendRows } from './queries';
import {
  priceTokens,
  rankInstallsBySpend,
  summarizeSpend,
  type InstallSpend,
  type PeriodSpend,
} from './spend';
import type { SpendMonitor } from './spend-monitor';

/** Installs listed in the top spenders. */
export const TOP_INSTALLS = 10;
/** Hours shown in the hourly chart. */
export const HOURS_SHOWN = 24;

/** One hour of the hourly chart. */
export interface HourFigures {
  hourStart: string;
  /** Answers settled or served from the cache. */
  answers: number;
  /** Answers that failed after their reservation (from the ledger). */
  failedAnswers: number;
  /** Requests this process rejected with a JSON error (from memory). */
  rejections: number;
  spendUsd: number;
}

export interface DashboardSummary {
  generatedAt: string;
  today: PeriodSpend;
  month: PeriodSpend;
  budgets: BudgetStatus[];
  softPercent: number;
  topInstalls: InstallSpend[];
  hours: HourFigures[];
  spikes: Spike[];
  alerts: SentAlert[];
}

/** Builds the dashboard's figures from the ledger at `now`. */
export async function buildDashboardSummary(
  monitor: SpendMonitor,
  now: Date,
): Promise<DashboardSummary> {
  await monitor.ready;
  const until = now.getTime() + 1;
  const dayStart = Date.UTC(
    now.getUTCFullYear(),
    now.getUTCMonth(),
    now.getUTCDate(),
  );
  const monthStart = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
  const firstHour =
    Math.floor(now.getTime() / 3_600_000) * 3_600_000 -
    (HOURS_SHOWN - 1) * 3_600_000;

  const monthRows = await querySpendRows(monitor.database, {
    since: monthStart,
    until,
  });
  const todayRows = await querySpendRows(monitor.database, {
    since: dayStart,
    until,
  });
  const hourlyRows = await queryHourlyRows(monitor.database, {
    since: firstHour,
    until,
  });

  const hours = new Map<number, HourFigures>();
  for (let index = 0; index < HOURS_SHOWN; index++) {
    const hourStart = firstHour + index * 3_600_000;
    hours.set(hourStart, {
      hourStart: new Date(hourStart).toISOString(),
      answers: 0,
      failedAnswers: 0,
      rejections: 0,
      spendUsd: 0,
    });
  }
  for (const row of hourlyRows) {
    const hour = hours.get(row.hourStart);
    if (hour === undefined) {
      continue;
    }
    if (row.kind === 'release') {
      hour.failedAnswers += row.entries;
      continue;
    }
    hour.answers += row.entries;
    if (row.kind === 'settle') {
      hour.spendUsd += priceTokens(monitor.prices, row.model, row) ?? 0;
    }
  }
  for (const counts of monitor.httpMetrics.listHours(firstHour)) {
    const hour = hours.get(counts.hourStart);
    if (hour !== undefined) {
      hour.rejections += counts.rejections;
    }
  }

  return {
    generatedAt: now.toISOString(),
    today: summarizeSpend(todayRows, monitor.prices),
    month: summarizeSpend(monthRows, monitor.prices),
    // Fresh, so the budgets agree with the spend shown beside them.
    budgets: await monitor.budgets.getStatuses(now, 0),
    softPercent: monitor.budgets.settings.softPercent,
    topInstalls: rankInstallsBySpend(monthRows, monitor.prices, TOP_INSTALLS),
    hours: [...hours.values()],
    spikes: await monitor.detectSpikes(now),
    alerts: await listSentAlerts(monitor.database, 20),
  };
}
