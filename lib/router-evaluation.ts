/**
 * Measures a router on labelled prompts: for each prompt, whether a weak
 * (cheap) and a strong (premium) model answered it correctly. A routing's
 * accuracy is the mean over prompts of strongCorrect when the prompt went
 * premium and weakCorrect when it went cheap. Cost is the premium share:
 * a premium answer costs 1 and a cheap one is taken as free.
 */
import { hashFnv1a } from './router-features';

export interface RoutingRecord {
  prompt: string;
  weakCorrect: boolean;
  strongCorrect: boolean;
}

/** Share of each labelled file held out from training and tuning. */
export const HOLD_OUT_PERCENT = 30;

/** Salt of the hash that picks the held-out prompts. It is fixed, so the split is too. */
export const HOLD_OUT_SEED = 'tokenwise-router-holdout-1';

/** The quality target of the cost figure: 95% of premium-only accuracy. */
export const QUALITY_TARGET = 0.95;

/**
 * Parses JSON Lines of `{prompt, weak_correct, strong_correct}` records.
 * Blank lines are skipped. Throws an Error naming the source and the line
 * number when a line is not JSON or lacks a field.
 */
export function parseRoutingRecords(
  text: string,
  source: string,
): RoutingRecord[] {
  const records: RoutingRecord[] = [];
  const lines = text.split('\n');

  for (const [index, line] of lines.entries()) {
    if (line.trim() === '') {
      continue;
    }
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new Error(`${source} line ${index + 1} is not valid JSON.`, {
        cause: error,
      });
    }
    const record = value as Record<string, unknown>;
    if (
      typeof record.prompt !== 'string' ||
      typeof record.weak_correct !== 'boolean' ||
      typeof record.strong_correct !== 'boolean'
    ) {
      throw new Error(
        `${source} line ${index + 1} needs a string "prompt" and boolean "weak_correct" and "strong_correct".`,
      );
    }
    records.push({
      prompt: record.prompt,
      weakCorrect: record.weak_correct,
      strongCorrect: record.strong_correct,
    });
  }
  return records;
}

/**
 * Tells whether a prompt belongs to the held-out part. The choice hashes
 * the prompt with HOLD_OUT_SEED, so it does not depend on the file order
 * and the same prompt always lands on the same side.
 */
export function isHeldOut(prompt: string): boolean {
  return hashFnv1a(`${HOLD_OUT_SEED}\n${prompt}`) % 100 < HOLD_OUT_PERCENT;
}

/** Splits records into the training part and the held-out part. */
export function splitRecords(records: readonly RoutingRecord[]): {
  training: RoutingRecord[];
  heldOut: RoutingRecord[];
} {
  const training: RoutingRecord[] = [];
  const heldOut: RoutingRecord[] = [];
  for (const record of records) {
    (isHeldOut(record.prompt) ? heldOut : training).push(record);
  }
  return { training, heldOut };
}

/** Accuracy of the cheap-only and the premium-only routings. */
export function measureBaselines(records: readonly RoutingRecord[]): {
  weakAccuracy: number;
  strongAccuracy: number;
} {
  const count = Math.max(1, records.length);
  const weak = records.filter((record) => record.weakCorrect).length;
  const strong = records.filter((record) => record.strongCorrect).length;
  return { weakAccuracy: weak / count, strongAccuracy: strong / count };
}

export interface ThresholdResult {
  /** Share of prompts routed to premium (score at or above the threshold). */
  premiumShare: number;
  accuracy: number;
  /** accuracy divided by premium-only accuracy. */
  qualityRetained: number;
}

/** Measures the routing that sends every score at or above threshold to premium. */
export function measureAtThreshold(
  scores: readonly number[],
  records: readonly RoutingRecord[],
  threshold: number,
): ThresholdResult {
  let premium = 0;
  let correct = 0;
  for (const [index, record] of records.entries()) {
    const isPremium = (scores[index] ?? 0) >= threshold;
    premium += isPremium ? 1 : 0;
    correct += (isPremium ? record.strongCorrect : record.weakCorrect) ? 1 : 0;
  }

  const count = Math.max(1, records.length);
  const { strongAccuracy } = measureBaselines(records);
  return {
    premiumShare: premium / count,
    accuracy: correct / count,
    qualityRetained:
      strongAccuracy === 0 ? 1 : correct / count / strongAccuracy,
  };
}

export interface SweepPoint {
  /** Scores at or above this go premium. */
  threshold: number;
  premiumShare: number;
  accuracy: number;
}

/**
 * Sweeps the threshold over every distinct score, from all-cheap to
 * all-premium. Tied scores always move together, so no point splits a tie.
 */
export function sweepThresholds(
  scores: readonly number[],
  records: readonly RoutingRecord[],
): SweepPoint[] {
  const count = Math.max(1, records.length);
  const order = records
    .map((record, index) => ({ record, score: scores[index] ?? 0 }))
    .sort((left, right) => right.score - left.score);
  let correct = records.filter((record) => record.weakCorrect).length;
  const points: SweepPoint[] = [
    { threshold: Infinity, premiumShare: 0, accuracy: correct / count },
  ];

  for (let index = 0; index < order.length; index += 1) {
    const entry = order[index]!;
    correct +=
      Number(entry.record.strongCorrect) - Number(entry.record.weakCorrect);
    const next = order[index + 1];
    if (next !== undefined && next.score === entry.score) {
      continue;
    }
    points.push({
      threshold: entry.score,
      premiumShare: (index + 1) / count,
      accuracy: correct / count,
    });
  }
  return points;
}

/**
 * Finds the sweep point with the smallest premium share whose accuracy
 * reaches target times premium-only accuracy. The cost reduction against
 * premium-only is 1 minus its premiumShare.
 */
export function findCheapestPoint(
  scores: readonly number[],
  records: readonly RoutingRecord[],
  target = QUALITY_TARGET,
): SweepPoint {
  const goal = target * measureBaselines(records).strongAccuracy;
  const points = sweepThresholds(scores, records);
  const reached = points.find((point) => point.accuracy >= goal - 1e-12);
  return reached ?? points[points.length - 1]!;
}

/**
 * Computes the cost reduction against premium-only of a random router at
 * target quality: a random premium share p has expected accuracy
 * weak + p * (strong - weak).
 */
export function computeRandomCostReduction(
  records: readonly RoutingRecord[],
  target = QUALITY_TARGET,
): number {
  const { weakAccuracy, strongAccuracy } = measureBaselines(records);
  if (weakAccuracy >= target * strongAccuracy) {
    return 1;
  }
  const share =
    (target * strongAccuracy - weakAccuracy) / (strongAccuracy - weakAccuracy);
  return 1 - Math.min(1, share);
}

/** Percentile interval of a bootstrapped figure. */
export interface BootstrapInterval {
  low: number;
  high: number;
}

export interface BootstrapResult {
  /** Interval of the router's cost reduction at the quality target. */
  router: BootstrapInterval;
  /** Interval of the router's cost reduction minus the baseline's. */
  leadOverBaseline: BootstrapInterval;
}

/**
 * Estimates how much the cost reduction at the target quality depends on
 * which prompts happened to be sampled. Each resample draws records.length
 * prompts with replacement, using a seeded generator so that a report can
 * be reproduced, and recomputes the figure for the router's scores and for
 * a baseline's on the same prompts. Returns the percentile intervals
 * between (1 - coverage) / 2 and (1 + coverage) / 2.
 */
export function bootstrapCostReduction(
  scores: readonly number[],
  baselineScores: readonly number[],
  records: readonly RoutingRecord[],
  options: {
    resamples: number;
    seed: number;
    coverage: number;
    target?: number;
  },
): BootstrapResult {
  if (!Number.isInteger(options.resamples) || options.resamples < 1) {
    throw new Error(
      `Invalid resamples ${options.resamples}: use a whole number of at least 1.`,
    );
  }
  if (!(options.coverage > 0 && options.coverage < 1)) {
    throw new Error(
      `Invalid coverage ${options.coverage}: use a share between 0 and 1, such as 0.9.`,
    );
  }
  const target = options.target ?? QUALITY_TARGET;
  const random = createSeededRandom(options.seed);
  const routerFigures: number[] = [];
  const leads: number[] = [];

  for (let resample = 0; resample < options.resamples; resample += 1) {
    const picked = records.map(() => Math.floor(random() * records.length));
    const sample = picked.map((index) => records[index]!);
    const router =
      1 -
      findCheapestPoint(
        picked.map((index) => scores[index] ?? 0),
        sample,
        target,
      ).premiumShare;
    const baseline =
      1 -
      findCheapestPoint(
        picked.map((index) => baselineScores[index] ?? 0),
        sample,
        target,
      ).premiumShare;
    routerFigures.push(router);
    leads.push(router - baseline);
  }

  const tail = (1 - options.coverage) / 2;
  return {
    router: percentileInterval(routerFigures, tail),
    leadOverBaseline: percentileInterval(leads, tail),
  };
}

function percentileInterval(
  values: readonly number[],
  tail: number,
): BootstrapInterval {
  const sorted = [...values].sort((left, right) => left - right);
  const at = (fraction: number) =>
    sorted[
      Math.min(
        sorted.length - 1,
        Math.max(0, Math.round(fraction * (sorted.length - 1))),
      )
    ]!;
  return { low: at(tail), high: at(1 - tail) };
}

/** Mulberry32: a small seeded generator of numbers in [0, 1). */
function createSeededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4_294_967_296;
  };
}
