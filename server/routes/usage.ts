/**
 * `GET /v1/usage`: the install's allowance, use and reset time in the
 * current period, from the materialized balance, a daily series of the
 * last 30 UTC days and the period's use per model, from the ledger.
 */
import type { Hono, MiddlewareHandler } from 'hono';
import type { UsageResponse } from '../../lib/protocol';
import type { AppEnv, AppServices } from '../http/context';
import type { Store } from '../store/types';

/** Days in the daily series, today included. */
export const USAGE_SERIES_DAYS = 30;

const DAY_MS = 86_400_000;

/** Adds the usage route to the app, behind `authenticate`. */
export function addUsageRoute(
  app: Hono<AppEnv>,
  services: AppServices,
  authenticate: MiddlewareHandler<AppEnv>,
): void {
  app.get('/v1/usage', authenticate, async (context) => {
    const installId = context.get('installId') as string;
    const usage = await computeUsage(services.store, installId, services.now());
    return context.json(usage);
  });
}

/** Computes the usage response of an install at `now`. */
export async function computeUsage(
  store: Store,
  installId: string,
  now: Date,
): Promise<UsageResponse> {
  const balance = await store.getBalance(installId, now);
  const daily = await store.getDailyUsage(installId, {
    since: new Date(now.getTime() - (USAGE_SERIES_DAYS - 1) * DAY_MS),
    until: now,
  });
  const models = await store.getModelUsage(installId, {
    since: balance.periodStart,
    until: balance.resetAt,
  });

  return {
    installId,
    plan: balance.plan.name,
    allowance: balance.allowance,
    used: balance.used,
    reserved: balance.reserved,
    remaining: balance.remaining,
    premiumWeight: balance.plan.premiumWeight,
    periodStart: balance.periodStart.toISOString(),
    resetAt: balance.resetAt.toISOString(),
    daily,
    models,
  };
}
