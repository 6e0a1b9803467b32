/**
 * Figures the popup derives from the usage mirror: the last 7 days by
 * tier, and what the cache and routing saved this period.
 */
import type { DailyUsage, UsageFigures } from './usage-snapshot';

const DAY_MS = 24 * 60 * 60 * 1000;

/** Number of days the HUD chart shows. */
export const CHART_DAYS = 7;

/**
 * Returns the last CHART_DAYS UTC days up to `now`, oldest first, with the
 * backend's figures for each day and zeros for days it did not report.
 */
export function buildWeekSeries(
  daily: readonly DailyUsage[],
  now: number,
): DailyUsage[] {
  const byDate = new Map(daily.map((day) => [day.date, day]));
  const series: DailyUsage[] = [];
  for (let offset = CHART_DAYS - 1; offset >= 0; offset--) {
    const date = new Date(now - offset * DAY_MS).toISOString().slice(0, 10);
    series.push(byDate.get(date) ?? { date, cheap: 0, premium: 0, saved: 0 });
  }
  return series;
}

/** Tokens saved this period, in allowance tokens. */
export interface PeriodSavings {
  /** Cost of the cache hits, on the backend and in this browser. */
  byCache: number;
  /**
   * Estimate of what the cheap tier's tokens would have cost on premium:
   * cheap tokens times (premium weight - 1).
   */
  byRouting: number;
}

/**
 * Sums the savings of the current period from the daily series (days on or
 * after the period's start) and this browser's cache.
 */
export function summarizeSavings(
  figures: Pick<UsageFigures, 'daily' | 'periodStart' | 'premiumWeight'>,
  localCacheSaved: number,
): PeriodSavings {
  const startDate = figures.periodStart.slice(0, 10);
  const period = figures.daily.filter((day) => day.date >= startDate);
  const serverSaved = period.reduce((sum, day) => sum + day.saved, 0);
  const cheapTokens = period.reduce((sum, day) => sum + day.cheap, 0);
  return {
    byCache: serverSaved + localCacheSaved,
    byRouting: Math.round(cheapTokens * Math.max(0, figures.premiumWeight - 1)),
  };
}
