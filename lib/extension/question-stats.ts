/**
 * Counts the questions answered this period and the allowance tokens they
 * took, so the popup can estimate how many more questions the allowance
 * covers at the user's own average.
 */
import { browser } from 'wxt/browser';
import { z } from 'zod';
import { QUESTION_STATS_STORAGE_KEY } from './storage-keys';
import { readUsageSnapshot } from './usage-snapshot';

export const questionStatsSchema = z.object({
  /** The backend's period start the counts belong to, when known. */
  periodStart: z.string().optional(),
  questions: z.number().int().nonnegative(),
  charged: z.number().int().nonnegative(),
  /** Allowance tokens that answers from this browser's cache would have cost. */
  cacheSaved: z.number().int().nonnegative().default(0),
});
export type QuestionStats = z.infer<typeof questionStatsSchema>;

/** Reads the counts; missing or malformed counts read as zero. */
export async function readQuestionStats(): Promise<QuestionStats> {
  const stored = await browser.storage.local.get(QUESTION_STATS_STORAGE_KEY);
  const parsed = questionStatsSchema.safeParse(
    stored[QUESTION_STATS_STORAGE_KEY],
  );
  return parsed.success
    ? parsed.data
    : { questions: 0, charged: 0, cacheSaved: 0 };
}

/** Adds one question answered by the backend, with its charge. */
export async function recordAnsweredQuestion(charged: number): Promise<void> {
  await updateQuestionStats((stats) => ({
    ...stats,
    questions: stats.questions + 1,
    charged: stats.charged + Math.max(0, Math.round(charged)),
  }));
}

/** Adds what an answer from the local cache would have cost. */
export async function recordCacheSaving(saved: number): Promise<void> {
  await updateQuestionStats((stats) => ({
    ...stats,
    cacheSaved: stats.cacheSaved + Math.max(0, Math.round(saved)),
  }));
}

/**
 * Applies a change to the counts. Counts from an earlier period, by the
 * usage mirror's period start, are reset first.
 */
async function updateQuestionStats(
  change: (stats: QuestionStats) => QuestionStats,
): Promise<void> {
  const periodStart = (await readUsageSnapshot())?.figures?.periodStart;
  const stats = await readQuestionStats();
  const isOldPeriod =
    periodStart !== undefined &&
    stats.periodStart !== undefined &&
    stats.periodStart !== periodStart;
  const current = isOldPeriod
    ? { questions: 0, charged: 0, cacheSaved: 0 }
    : stats;
  const next = change({
    ...current,
    periodStart: periodStart ?? stats.periodStart,
  });
  await browser.storage.local.set({ [QUESTION_STATS_STORAGE_KEY]: next });
}

/**
 * Estimates how many more questions the remaining tokens cover at the
 * average charge so far. Returns undefined before the first question.
 */
export function estimateQuestionsLeft(
  remaining: number,
  stats: QuestionStats,
): number | undefined {
  if (stats.questions === 0 || stats.charged === 0) {
    return undefined;
  }
  const average = stats.charged / stats.questions;
  return Math.floor(Math.max(0, remaining) / average);
}
