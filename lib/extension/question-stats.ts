/**
 * Counts the questions answered this period and the allowance tokens they
 * took, so the popup can say about how many more questions the allowance
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
});
export type QuestionStats = z.infer<typeof questionStatsSchema>;

/** Reads the counts; missing or malformed counts read as zero. */
export async function readQuestionStats(): Promise<QuestionStats> {
  const stored = await browser.storage.local.get(QUESTION_STATS_STORAGE_KEY);
  const parsed = questionStatsSchema.safeParse(
    stored[QUESTION_STATS_STORAGE_KEY],
  );
  return parsed.success ? parsed.data : { questions: 0, charged: 0 };
}

/**
 * Adds one answered question and its charge. Counts from an earlier
 * period, by the usage mirror's period start, are dropped first.
 */
export async function recordAnsweredQuestion(charged: number): Promise<void> {
  const periodStart = (await readUsageSnapshot())?.figures?.periodStart;
  const stats = await readQuestionStats();
  const current =
    periodStart !== undefined &&
    stats.periodStart !== undefined &&
    stats.periodStart !== periodStart
      ? { questions: 0, charged: 0 }
      : stats;
  const next: QuestionStats = {
    periodStart: periodStart ?? stats.periodStart,
    questions: current.questions + 1,
    charged: current.charged + Math.max(0, Math.round(charged)),
  };
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
