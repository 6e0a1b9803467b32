/**
 * The per-install spike detector: an install whose spend in the last hour
 * is many times its average hourly spend over the week before is flagged
 * and alerted, once per install and hour.
 */
import type { Alerter } from '../alerts/alerter';
import type { SpendDatabase } from '../dashboard/database';
import { querySpendRows } from '../dashboard/queries';
import { rankInstallsBySpend, type PriceLookup } from '../dashboard/spend';

const HOUR_MS = 3_600_000;
/** Hours of history that set an install's usual rate: one week. */
export const BASELINE_HOURS = 7 * 24;

export interface SpikeSettings {
  /** How many times its usual hourly spend an install must spend. */
  factor: number;
  /** Smallest hourly spend that counts as a spike, in US dollars. */
  minimumUsd: number;
}

/** An install spending far above its usual rate. */
export interface Spike {
  installId: string;
  /** Spend in the last hour, in US dollars. */
  lastHourUsd: number;
  /** Average hourly spend over the baseline week, in US dollars. */
  usualHourlyUsd: number;
}

/** Finds the spiking installs and raises one alert per install and hour. */
export async function detectSpikes(options: {
  database: SpendDatabase;
  prices: PriceLookup;
  settings: SpikeSettings;
  alerter: Alerter;
  now: Date;
}): Promise<Spike[]> {
  const now = options.now.getTime();
  const recentRows = await querySpendRows(options.database, {
    since: now - HOUR_MS,
    until: now + 1,
  });
  const recent = rankInstallsBySpend(
    recentRows,
    options.prices,
    Number.MAX_SAFE_INTEGER,
  );
  if (recent.length === 0) {
    return [];
  }
  const baselineRows = await querySpendRows(options.database, {
    since: now - HOUR_MS - BASELINE_HOURS * HOUR_MS,
    until: now - HOUR_MS,
  });
  const baseline = new Map(
    rankInstallsBySpend(
      baselineRows,
      options.prices,
      Number.MAX_SAFE_INTEGER,
    ).map((install) => [install.installId, install.spendUsd / BASELINE_HOURS]),
  );

  const spikes: Spike[] = [];
  for (const install of recent) {
    const usualHourlyUsd = baseline.get(install.installId) ?? 0;
    if (
      install.spendUsd >= options.settings.minimumUsd &&
      install.spendUsd > options.settings.factor * usualHourlyUsd
    ) {
      spikes.push({
        installId: install.installId,
        lastHourUsd: install.spendUsd,
        usualHourlyUsd,
      });
    }
  }

  const hour = new Date(Math.floor(now / HOUR_MS) * HOUR_MS).toISOString();
  for (const spike of spikes) {
    await options.alerter.raise({
      key: `spike:${spike.installId}:${hour}`,
      text: `Tokenwise: install ${spike.installId} spent $${spike.lastHourUsd.toFixed(2)} in the last hour, against a usual $${spike.usualHourlyUsd.toFixed(2)} per hour.`,
      now: options.now,
    });
  }
  return spikes;
}
