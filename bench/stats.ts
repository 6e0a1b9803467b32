/**
 * Order statistics for benchmark samples: percentiles by the nearest-rank
 * method, and summaries of several runs as a median with its range.
 */

/** Percentiles and extremes of one set of samples, in the samples' unit. */
export interface Distribution {
  count: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/**
 * Summarizes samples; NaN entries are dropped. Returns undefined when no
 * sample is left.
 */
export function summarize(samples: number[]): Distribution | undefined {
  const sorted = samples
    .filter((sample) => !Number.isNaN(sample))
    .sort((left, right) => left - right);
  if (sorted.length === 0) {
    return undefined;
  }

  const total = sorted.reduce((sum, sample) => sum + sample, 0);
  return {
    count: sorted.length,
    min: sorted[0] as number,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] as number,
    mean: total / sorted.length,
  };
}

/** Returns the nearest-rank percentile of samples sorted in ascending order. */
export function percentile(sorted: number[], rank: number): number {
  if (sorted.length === 0) {
    return Number.NaN;
  }
  const index = Math.ceil((rank / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, index))] as number;
}

/** The median of several runs' figures with the lowest and highest run. */
export interface RunSpread {
  median: number;
  min: number;
  max: number;
  runs: number;
}

/** Summarizes one figure over runs; NaN runs are dropped. */
export function spreadOf(values: number[]): RunSpread | undefined {
  const summary = summarize(values);
  if (summary === undefined) {
    return undefined;
  }
  const sorted = values
    .filter((value) => !Number.isNaN(value))
    .sort((left, right) => left - right);
  const middle = Math.floor(sorted.length / 2);
  const median =
    sorted.length % 2 === 1
      ? (sorted[middle] as number)
      : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
  return {
    median,
    min: summary.min,
    max: summary.max,
    runs: summary.count,
  };
}
