/**
 * The goals the benchmarks report against, and the added-latency figures
 * they are judged on.
 */
import type { BenchResults } from './report';
import type {
  BackendOverheadResult,
  Rate,
  TargetName,
} from './sections/backend-overhead';
import type { LoadResult } from './load/load-plan';
import { spreadOf, type RunSpread } from './stats';

/** A target's percentiles minus the direct call's, over runs. */
export interface AddedLatency {
  firstTokenP50?: RunSpread;
  firstTokenP99?: RunSpread;
  fullP50?: RunSpread;
  fullP99?: RunSpread;
}

/**
 * Computes, per run, a target's p50 and p99 minus those of the direct call
 * at the same rate and repetition, and summarizes them over runs.
 */
export function measureAddedLatency(
  load: BackendOverheadResult,
  target: TargetName,
  rate: Rate,
): AddedLatency {
  const differences = {
    firstTokenP50: [] as number[],
    firstTokenP99: [] as number[],
    fullP50: [] as number[],
    fullP99: [] as number[],
  };
  for (let repetition = 1; repetition <= load.repetitions; repetition++) {
    const find = (name: TargetName): LoadResult | undefined =>
      load.runs.find(
        (run) =>
          run.repetition === repetition &&
          run.rate === rate &&
          run.target === name,
      )?.result;
    const measured = find(target);
    const direct = find('direct');
    if (measured === undefined || direct === undefined) {
      continue;
    }
    differences.firstTokenP50.push(
      subtract(measured.firstTokenMs?.p50, direct.firstTokenMs?.p50),
    );
    differences.firstTokenP99.push(
      subtract(measured.firstTokenMs?.p99, direct.firstTokenMs?.p99),
    );
    differences.fullP50.push(
      subtract(measured.fullResponseMs?.p50, direct.fullResponseMs?.p50),
    );
    differences.fullP99.push(
      subtract(measured.fullResponseMs?.p99, direct.fullResponseMs?.p99),
    );
  }
  return {
    firstTokenP50: spreadOf(differences.firstTokenP50),
    firstTokenP99: spreadOf(differences.firstTokenP99),
    fullP50: spreadOf(differences.fullP50),
    fullP99: spreadOf(differences.fullP99),
  };
}

function subtract(left: number | undefined, right: number | undefined): number {
  if (left === undefined || right === undefined) {
    return Number.NaN;
  }
  return left - right;
}

interface GoalRow {
  goal: string;
  figure: string;
  met: boolean | undefined;
}

/** The rate at which the added-latency goals are judged. */
const GOAL_RATE = 500;

/** Renders the goals section: each goal, the figure and met or not met. */
export function describeGoals(results: BenchResults): string[] {
  const rows: GoalRow[] = [];
  if (results.load) {
    rows.push(...loadGoals(results.load));
  }
  if (results.extension) {
    const { firstToken, cachedAnswer, popupMeter } = results.extension;
    rows.push(
      belowGoal(
        "Send to first token painted, minus the provider's delay: median under 50 ms",
        firstToken?.painted.p50,
        50,
      ),
      belowGoal(
        'A cached answer painted: median under 30 ms',
        cachedAnswer?.painted.p50,
        30,
      ),
      belowGoal(
        'Popup opened to meter painted: median under 100 ms',
        popupMeter?.painted.p50,
        100,
      ),
    );
    const popup = results.extension.bundles.entries.popup;
    if (popup) {
      rows.push({
        goal: 'The popup loads no tokenizer',
        figure: popup.containsTokenizer
          ? `the popup loads gpt-tokenizer (${Math.round(popup.bytes / 1_024)} KiB in all)`
          : `the popup loads ${Math.round(popup.bytes / 1_024)} KiB, no tokenizer`,
        met: !popup.containsTokenizer,
      });
    }
  }

  const lines = [
    '## Goals',
    '',
    "A median is the median of the samples; for the load goals it is the median over runs of each run's figure.",
    '',
    '| Goal | Figure | Met |',
    '| --- | --- | --- |',
  ];
  for (const row of rows) {
    lines.push(`| ${row.goal} | ${row.figure} | ${describeMet(row.met)} |`);
  }
  return lines;
}

function describeMet(met: boolean | undefined): string {
  if (met === undefined) {
    return 'not measured';
  }
  return met ? 'met' : 'not met';
}

function loadGoals(load: BackendOverheadResult): GoalRow[] {
  if (!load.rates.includes(GOAL_RATE)) {
    return [];
  }
  const portkey = measureAddedLatency(load, 'portkey', GOAL_RATE);
  const rows: GoalRow[] = [];
  const stores: Array<[TargetName, string]> = [
    ['tokenwise-sqlite', 'SQLite'],
    ['tokenwise-postgres', 'PostgreSQL + Redis'],
  ];
  for (const [target, label] of stores) {
    if (!load.runs.some((run) => run.target === target)) {
      continue;
    }
    const added = measureAddedLatency(load, target, GOAL_RATE);
    for (const [metric, p50, p99, portkeyP50, portkeyP99] of [
      [
        'first token',
        added.firstTokenP50,
        added.firstTokenP99,
        portkey.firstTokenP50,
        portkey.firstTokenP99,
      ],
      [
        'full response',
        added.fullP50,
        added.fullP99,
        portkey.fullP50,
        portkey.fullP99,
      ],
    ] as const) {
      rows.push(
        belowGoal(
          `${label}, ${metric}: added latency at ${GOAL_RATE} req/s, median under 1 ms`,
          p50?.median,
          1,
        ),
        belowGoal(
          `${label}, ${metric}: added latency at ${GOAL_RATE} req/s, p99 under 5 ms`,
          p99?.median,
          5,
        ),
        compareGoal(
          `${label}, ${metric}: added latency below Portkey's in the same run (p50 and p99)`,
          [p50?.median, p99?.median],
          [portkeyP50?.median, portkeyP99?.median],
        ),
      );
    }
  }
  return rows;
}

function belowGoal(
  goal: string,
  value: number | undefined,
  limit: number,
): GoalRow {
  if (value === undefined || Number.isNaN(value)) {
    return { goal, figure: 'n/a', met: undefined };
  }
  return { goal, figure: `${value.toFixed(2)} ms`, met: value < limit };
}

function compareGoal(
  goal: string,
  ours: Array<number | undefined>,
  theirs: Array<number | undefined>,
): GoalRow {
  const known = (values: Array<number | undefined>): values is number[] =>
    values.every((value) => value !== undefined && !Number.isNaN(value));
  if (!known(ours) || !known(theirs)) {
    return { goal, figure: 'n/a', met: undefined };
  }
  return {
    goal,
    figure: `ours ${ours.map((value) => value.toFixed(2)).join(' / ')} ms, Portkey ${theirs.map((value) => value.toFixed(2)).join(' / ')} ms`,
    met: ours.every((value, index) => value < (theirs[index] as number)),
  };
}
