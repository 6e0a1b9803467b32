/**
 * The global spend budgets: a daily and a monthly limit in US dollars over
 * every install's settled answers, in UTC days and months. Past the soft
 * limit the premium tier degrades to the cheap one; past the hard limit
 * chats are rejected with `budget_exceeded`. Crossing 50, 80 and 100
 * percent of a budget raises one alert per threshold and period.
 */
import type { RouteDecision } from '../../lib/protocol';
import type { Alerter } from '../alerts/alerter';
import type { SpendDatabase } from '../dashboard/database';
import { querySpendRows } from '../dashboard/queries';
import { summarizeSpend, type PriceLookup } from '../dashboard/spend';
import { HttpError } from '../http/errors';

/** Percentages of a budget that raise an alert. */
export const ALERT_THRESHOLDS = [50, 80, 100] as const;

export interface BudgetSettings {
  /** Daily limit in US dollars; undefined for none. */
  dailyUsd: number | undefined;
  /** Monthly limit in US dollars; undefined for none. */
  monthlyUsd: number | undefined;
  /** Percentage of a limit past which premium degrades to cheap. */
  softPercent: number;
  /** How long a computed spend is reused, in milliseconds. */
  checkIntervalMs: number;
}

export type BudgetState = 'ok' | 'soft' | 'hard';

/** Status of one budget. */
export interface BudgetStatus {
  period: 'daily' | 'monthly';
  limitUsd: number;
  softLimitUsd: number;
  spentUsd: number;
  /** spentUsd over limitUsd, in percent. */
  percent: number;
  state: BudgetState;
  periodStart: Date;
  resetAt: Date;
}

/** Checks chats against the budgets and raises the budget alerts. */
export class BudgetGuard {
  private cached: { at: number; statuses: BudgetStatus[] } | undefined;

  constructor(
    private readonly options: {
      settings: BudgetSettings;
      database: SpendDatabase;
      prices: PriceLookup;
      alerter: Alerter;
    },
  ) {}

  /** The configured settings, for the dashboard. */
  get settings(): BudgetSettings {
    return this.options.settings;
  }

  /**
   * Returns the status of each configured budget, computing the spend
   * again once `maxAgeMs` (the check interval unless given) has passed,
   * and raises the alerts of thresholds that the spend has crossed.
   */
  async getStatuses(
    now: Date,
    maxAgeMs = this.options.settings.checkIntervalMs,
  ): Promise<BudgetStatus[]> {
    const { settings } = this.options;
    if (
      this.cached !== undefined &&
      now.getTime() - this.cached.at < maxAgeMs
    ) {
      return this.cached.statuses;
    }

    const statuses: BudgetStatus[] = [];
    if (settings.dailyUsd !== undefined) {
      const start = startOfUtcDay(now);
      const end = new Date(start.getTime() + 86_400_000);
      statuses.push(
        await this.computeStatus('daily', settings.dailyUsd, start, end),
      );
    }
    if (settings.monthlyUsd !== undefined) {
      const start = new Date(
        Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1),
      );
      const end = new Date(
        Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1),
      );
      statuses.push(
        await this.computeStatus('monthly', settings.monthlyUsd, start, end),
      );
    }
    this.cached = { at: now.getTime(), statuses };

    for (const status of statuses) {
      await this.raiseAlerts(status, now);
    }
    return statuses;
  }

  /**
   * Applies the budgets to a route: returns it unchanged, or moved to the
   * cheap tier with the reason added. Throws HttpError 503
   * `budget_exceeded` past a hard limit.
   *
   * NOTE: only settled answers count, so answers in flight (and those
   * settled within the check interval) can take the spend past a limit.
   * The chat route checks before its cache lookup, so cached answers are
   * rejected too.
   */
  async applyToRoute(
    decision: RouteDecision,
    now: Date,
  ): Promise<RouteDecision> {
    const statuses = await this.getStatuses(now);
    const exceeded = statuses.find((status) => status.state === 'hard');
    if (exceeded !== undefined) {
      throw new HttpError({
        status: 503,
        code: 'budget_exceeded',
        message: `The backend has spent its ${exceeded.period} budget of $${exceeded.limitUsd.toFixed(2)}, so it answers no questions until ${exceeded.resetAt.toISOString()}. Ask again then.`,
        details: { resetAt: exceeded.resetAt },
      });
    }

    const soft = statuses.find((status) => status.state === 'soft');
    if (soft === undefined || decision.tier !== 'premium') {
      return decision;
    }
    return {
      ...decision,
      tier: 'cheap',
      reasons: [
        ...decision.reasons,
        `the premium model is paused because ${Math.floor(soft.percent)}% of the ${soft.period} budget is spent`,
      ],
    };
  }

  private async computeStatus(
    period: BudgetStatus['period'],
    limitUsd: number,
    periodStart: Date,
    resetAt: Date,
  ): Promise<BudgetStatus> {
    const rows = await querySpendRows(this.options.database, {
      since: periodStart.getTime(),
      until: resetAt.getTime(),
    });
    const spentUsd = summarizeSpend(rows, this.options.prices).spendUsd;
    const softLimitUsd = (limitUsd * this.options.settings.softPercent) / 100;
    let state: BudgetState = 'ok';
    if (spentUsd >= limitUsd) {
      state = 'hard';
    } else if (spentUsd >= softLimitUsd) {
      state = 'soft';
    }
    return {
      period,
      limitUsd,
      softLimitUsd,
      spentUsd,
      percent: limitUsd === 0 ? 100 : (spentUsd / limitUsd) * 100,
      state,
      periodStart,
      resetAt,
    };
  }

  private async raiseAlerts(status: BudgetStatus, now: Date): Promise<void> {
    const periodKey = status.periodStart.toISOString().slice(0, 10);
    for (const threshold of ALERT_THRESHOLDS) {
      if (status.percent < threshold) {
        continue;
      }
      await this.options.alerter.raise({
        key: `budget:${status.period}:${periodKey}:${threshold}`,
        text: `Tokenwise: ${threshold}% of the ${status.period} budget reached: $${status.spentUsd.toFixed(2)} of $${status.limitUsd.toFixed(2)} spent in the period that started ${periodKey}.`,
        now,
      });
    }
  }
}

function startOfUtcDay(now: Date): Date {
  return new Date(
    Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()),
  );
}
