/**
 * The usage mirror as stored in `storage.local`: the figures the popup
 * shows, written by the background worker. This module is safe to import
 * from the popup, because it does not pull in the tokenizer.
 */
import { browser } from 'wxt/browser';
import { z } from 'zod';
import { dailyUsageSchema } from '../protocol';
import { USAGE_STORAGE_KEY } from './storage-keys';

const tokenCount = z.number().int().nonnegative();

/** Allowance figures, in allowance tokens. */
export const usageFiguresSchema = z.object({
  plan: z.string(),
  allowance: tokenCount,
  /** Used this period, including the estimate for answers streaming now. */
  used: tokenCount,
  /** Left this period, net of the estimate for answers streaming now. */
  remaining: tokenCount,
  /** Used and left as the backend last settled them, without estimates. */
  settledUsed: tokenCount,
  settledRemaining: tokenCount,
  /** Tokens the backend held for answers in flight when it reported. */
  reserved: tokenCount,
  /** Estimated allowance tokens of the answers streaming now. */
  liveTokens: tokenCount,
  premiumWeight: z.number().positive(),
  periodStart: z.string(),
  resetAt: z.string(),
  /** The backend's daily series by tier, oldest first; empty when unknown. */
  daily: z.array(dailyUsageSchema).default([]),
});
export type DailyUsage = z.infer<typeof dailyUsageSchema>;
export type UsageFigures = z.infer<typeof usageFiguresSchema>;

export const usageSnapshotSchema = z.object({
  backendUrl: z.string(),
  /** `ok` once the backend answered; the others keep the last figures. */
  status: z.enum(['ok', 'unreachable', 'failed']),
  /** A sentence saying what failed, when the status is not `ok`. */
  problem: z.string().optional(),
  figures: usageFiguresSchema.optional(),
  /** ISO time the backend last reported the figures. */
  syncedAt: z.string().optional(),
  /** ISO time of this snapshot. */
  updatedAt: z.string(),
});
export type UsageSnapshot = z.infer<typeof usageSnapshotSchema>;

/** Parses a stored snapshot; a missing or malformed one parses as undefined. */
export function parseUsageSnapshot(value: unknown): UsageSnapshot | undefined {
  const parsed = usageSnapshotSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/** Reads the usage mirror from `storage.local`. */
export async function readUsageSnapshot(): Promise<UsageSnapshot | undefined> {
  const stored = await browser.storage.local.get(USAGE_STORAGE_KEY);
  return parseUsageSnapshot(stored[USAGE_STORAGE_KEY]);
}

export type UsageLevel = 'ok' | 'low' | 'critical';

/** Share of the allowance below which the meter turns amber. */
export const LOW_USAGE_SHARE = 0.25;
/** Share of the allowance below which the meter turns red. */
export const CRITICAL_USAGE_SHARE = 0.1;

/** Classifies what is left: `low` below 25% of the allowance, `critical` below 10%. */
export function classifyRemaining(
  remaining: number,
  allowance: number,
): UsageLevel {
  if (allowance <= 0) {
    return 'critical';
  }
  const share = remaining / allowance;
  if (share < CRITICAL_USAGE_SHARE) {
    return 'critical';
  }
  if (share < LOW_USAGE_SHARE) {
    return 'low';
  }
  return 'ok';
}
