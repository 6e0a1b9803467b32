/**
 * The user's preferences from the options page, kept in `storage.local`
 * and read by the background and the side panel.
 */
import { browser } from 'wxt/browser';
import { z } from 'zod';
import type { RequestedTier } from '../protocol';
import { SETTINGS_STORAGE_KEY } from './storage-keys';

/** Default age after which a cached answer is no longer served, in days. */
export const DEFAULT_CACHE_MAX_AGE_DAYS = 7;
/** Default size cap of the answer cache: 50 MB. */
export const DEFAULT_CACHE_MAX_BYTES = 50 * 1024 * 1024;
/** Default age after which conversations are deleted; 0 keeps them forever. */
export const DEFAULT_HISTORY_RETENTION_DAYS = 0;

/**
 * Routing preference: `automatic` lets the router decide, `cheap` always
 * asks for the cheap tier, `premium-when-needed` asks for premium whenever
 * the router leans that way (see resolveRequestedTier).
 */
export const ROUTING_PREFERENCES = [
  'automatic',
  'cheap',
  'premium-when-needed',
] as const;
export type RoutingPreference = (typeof ROUTING_PREFERENCES)[number];

export const settingsSchema = z.object({
  routing: z.enum(ROUTING_PREFERENCES).default('automatic'),
  cacheEnabled: z.boolean().default(true),
  cacheMaxAgeDays: z
    .number()
    .positive()
    .max(365)
    .default(DEFAULT_CACHE_MAX_AGE_DAYS),
  cacheMaxBytes: z.number().int().positive().default(DEFAULT_CACHE_MAX_BYTES),
  historyRetentionDays: z
    .number()
    .int()
    .nonnegative()
    .max(3650)
    .default(DEFAULT_HISTORY_RETENTION_DAYS),
  /** Backend URL chosen by a self-hoster; the build's when unset. */
  backendUrl: z.string().optional(),
});
export type Settings = z.output<typeof settingsSchema>;

/** Parses stored settings; missing or invalid fields take their defaults. */
export function parseSettings(value: unknown): Settings {
  const parsed = settingsSchema.safeParse(value ?? {});
  if (parsed.success) {
    return parsed.data;
  }
  // One bad field must not reset the others.
  const fields = typeof value === 'object' && value !== null ? value : {};
  const result: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(settingsSchema.shape)) {
    const one = field.safeParse((fields as Record<string, unknown>)[name]);
    if (one.success && one.data !== undefined) {
      result[name] = one.data;
    }
  }
  return settingsSchema.parse(result);
}

/** Reads the settings from `storage.local`. */
export async function readSettings(): Promise<Settings> {
  const stored = await browser.storage.local.get(SETTINGS_STORAGE_KEY);
  return parseSettings(stored[SETTINGS_STORAGE_KEY]);
}

/** Merges a change into the stored settings and returns the result. */
export async function updateSettings(
  change: Partial<Settings>,
): Promise<Settings> {
  const current = await readSettings();
  const next = settingsSchema.parse({ ...current, ...change });
  await browser.storage.local.set({ [SETTINGS_STORAGE_KEY]: next });
  return next;
}

/** Router score from which `premium-when-needed` asks for premium. */
export const PREMIUM_WHEN_NEEDED_SCORE = 0.35;

/**
 * Maps the routing preference to the tier sent with a question. A tier the
 * user chose for this one question (anything but `auto`) wins. Automatic
 * leaves the choice to the backend's router; `premium-when-needed` also asks
 * for premium on borderline questions, whose router score is at least
 * PREMIUM_WHEN_NEEDED_SCORE.
 */
export function resolveRequestedTier(options: {
  requested: RequestedTier;
  preference: RoutingPreference;
  routerScore: number;
}): RequestedTier {
  const { requested, preference, routerScore } = options;
  if (requested !== 'auto') {
    return requested;
  }
  switch (preference) {
    case 'automatic':
      return 'auto';
    case 'cheap':
      return 'cheap';
    case 'premium-when-needed':
      return routerScore >= PREMIUM_WHEN_NEEDED_SCORE ? 'premium' : 'auto';
  }
}
