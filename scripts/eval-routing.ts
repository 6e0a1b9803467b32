/**
 * Scores the router on the labelled routing data and prints, for each set,
 * the premium share and the quality retained at the deployed threshold,
 * and the cost reduction against premium-only at 95% of premium quality
 * beside a random router's.
 *
 *   npm run eval:routing [-- --json] [-- --part held-out|training|all]
 *
 * The data folder is ../shared/data beside the repository, or
 * TOKENWISE_DATA_DIR. By default only the held-out part of each file is
 * scored: the router's models were trained and tuned on the rest.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  bootstrapCostReduction,
  type BootstrapResult,
  computeRandomCostReduction,
  findCheapestPoint,
  HOLD_OUT_PERCENT,
  HOLD_OUT_SEED,
  measureAtThreshold,
  measureBaselines,
  parseRoutingRecords,
  QUALITY_TARGET,
  type RoutingRecord,
  splitRecords,
} from '../lib/router-evaluation';

const REPO_ROOT = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
);

/** The labelled files scored, with the names the report gives them. */
export const ROUTING_SETS = [
  { name: 'MMLU', file: 'routing-mmlu-dev.jsonl' },
  { name: 'GSM8K', file: 'routing-gsm8k-dev.jsonl' },
] as const;

export const COST_MODEL =
  'a premium answer costs 1 and a cheap one 0, so the cost of a routing is its premium share';

type Part = 'held-out' | 'training' | 'all';

/** Resamples behind the bootstrap intervals. The fixed seed makes them reproducible. */
const BOOTSTRAP_RESAMPLES = 1_000;
const BOOTSTRAP_SEED = 20_240_601;
const BOOTSTRAP_COVERAGE = 0.9;

export interface SetReport {
  name: string;
  file: string;
  /** Prompts in the file. */
  totalPrompts: number;
  /** Prompts scored: those of the part evaluated. */
  scoredPrompts: number;
  cheapOnlyAccuracy: number;
  premiumOnlyAccuracy: number;
  atDeployedThreshold: {
    threshold: number;
    premiumShare: number;
    accuracy: number;
    qualityRetained: number;
  };
  /**
   * 1 minus the smallest premium share reaching 95% of premium quality, for
   * the router, a random router and a router that scores by prompt length.
   */
  costReductionAtTarget: {
    router: number;
    randomRouter: number;
    lengthOnlyRouter: number;
  };
  /**
   * 90% bootstrap intervals of the router's cost reduction and of its lead
   * over the length-only router, from BOOTSTRAP_RESAMPLES resamples of the
   * scored prompts.
   */
  costReductionInterval: BootstrapResult;
  /** Share of the scored prompts that the router scored with each method. */
  promptKinds: Record<string, number>;
}

export interface EvaluationReport {
  part: Part;
  holdOut: { percent: number; seed: string };
  qualityTarget: number;
  costModel: string;
  dataDir: string;
  sets: SetReport[];
  /** Mean wall time of one routeQuestion call over every scored prompt, after a warm-up pass. */
  meanDecisionMilliseconds: number;
  decisions: number;
}

/** Returns TOKENWISE_DATA_DIR, or ../shared/data beside the repository. */
export function resolveDataDir(): string {
  const configured = process.env.TOKENWISE_DATA_DIR;
  return configured !== undefined && configured !== ''
    ? path.resolve(configured)
    : path.resolve(REPO_ROOT, '../shared/data');
}

/**
 * Reads one labelled JSON Lines file from the data folder. Throws an Error
 * that names the folder or file it looked for when either is missing.
 */
export function loadRoutingFile(
  dataDir: string,
  fileName: string,
): RoutingRecord[] {
  if (!existsSync(dataDir)) {
    throw new Error(
      `Routing data folder not found: looked in ${dataDir}. Set TOKENWISE_DATA_DIR to the folder holding ${fileName}.`,
    );
  }
  const filePath = path.join(dataDir, fileName);
  if (!existsSync(filePath)) {
    throw new Error(
      `Routing data file not found: looked for ${filePath}. Set TOKENWISE_DATA_DIR to the folder holding ${fileName}.`,
    );
  }
  return parseRoutingRecords(readFileSync(filePath, 'utf8'), filePath);
}

/** Scores every set of the data folder and returns the report. */
export async function evaluateRouting(options: {
  dataDir: string;
  part: Part;
}): Promise<EvaluationReport> {
  // Imported here so that the training script can load data with this
  // module before any weights exist.
  const { routeQuestion, DEFAULT_PREMIUM_THRESHOLD } =
    await import('../lib/router');
  const { classifyPrompt, collectQuestionFacts } =
    await import('../lib/router-features');
  const sets: SetReport[] = [];
  let totalMilliseconds = 0;
  let decisions = 0;

  for (const set of ROUTING_SETS) {
    const records = loadRoutingFile(options.dataDir, set.file);
    const split = splitRecords(records);
    const scored =
      options.part === 'held-out'
        ? split.heldOut
        : options.part === 'training'
          ? split.training
          : records;

    // The first pass warms up the JavaScript engine and is not timed, so
    // the time reported is that of a router already in use.
    const scores = scored.map(
      (record) => routeQuestion({ question: record.prompt }).score,
    );
    const kindCounts: Record<string, number> = {};
    const started = performance.now();
    for (const record of scored) {
      routeQuestion({ question: record.prompt });
    }
    totalMilliseconds += performance.now() - started;
    decisions += scored.length;
    for (const record of scored) {
      const kind = classifyPrompt(collectQuestionFacts(record.prompt));
      kindCounts[kind] = (kindCounts[kind] ?? 0) + 1;
    }

    const baselines = measureBaselines(scored);
    const cheapest = findCheapestPoint(scores, scored, QUALITY_TARGET);
    const lengths = scored.map((record) => record.prompt.length);
    const cheapestByLength = findCheapestPoint(lengths, scored, QUALITY_TARGET);
    sets.push({
      name: set.name,
      file: set.file,
      totalPrompts: records.length,
      scoredPrompts: scored.length,
      cheapOnlyAccuracy: baselines.weakAccuracy,
      premiumOnlyAccuracy: baselines.strongAccuracy,
      atDeployedThreshold: {
        threshold: DEFAULT_PREMIUM_THRESHOLD,
        ...measureAtThreshold(scores, scored, DEFAULT_PREMIUM_THRESHOLD),
      },
      costReductionAtTarget: {
        router: 1 - cheapest.premiumShare,
        randomRouter: computeRandomCostReduction(scored, QUALITY_TARGET),
        lengthOnlyRouter: 1 - cheapestByLength.premiumShare,
      },
      costReductionInterval: bootstrapCostReduction(scores, lengths, scored, {
        resamples: BOOTSTRAP_RESAMPLES,
        seed: BOOTSTRAP_SEED,
        coverage: BOOTSTRAP_COVERAGE,
        target: QUALITY_TARGET,
      }),
      promptKinds: Object.fromEntries(
        Object.entries(kindCounts).map(([kind, count]) => [
          kind,
          count / Math.max(1, scored.length),
        ]),
      ),
    });
  }

  return {
    part: options.part,
    holdOut: { percent: HOLD_OUT_PERCENT, seed: HOLD_OUT_SEED },
    qualityTarget: QUALITY_TARGET,
    costModel: COST_MODEL,
    dataDir: options.dataDir,
    sets,
    meanDecisionMilliseconds:
      decisions === 0 ? 0 : totalMilliseconds / decisions,
    decisions,
  };
}

/** Formats the report as the text the command prints. */
export function formatReport(report: EvaluationReport): string {
  const percent = (value: number) => `${(value * 100).toFixed(1)}%`;
  const partText = {
    'held-out': `the held-out ${report.holdOut.percent}% of each file (the router was trained and tuned only on the other ${100 - report.holdOut.percent}%)`,
    training: `the training ${100 - report.holdOut.percent}% of each file (the router was trained on these prompts, so these figures are optimistic)`,
    all: 'every prompt of each file (training prompts included, so these figures are optimistic)',
  }[report.part];
  const lines = [
    `Router evaluation on ${partText}.`,
    `Data: ${report.dataDir}`,
    `Cost model: ${report.costModel}.`,
    '',
  ];

  const points = (value: number) =>
    `${value >= 0 ? '+' : ''}${(value * 100).toFixed(1)}`;
  for (const set of report.sets) {
    const deployed = set.atDeployedThreshold;
    const interval = set.costReductionInterval;
    lines.push(
      `${set.name} (${set.file}): ${set.scoredPrompts} of ${set.totalPrompts} prompts scored`,
      `  cheap-only accuracy ${percent(set.cheapOnlyAccuracy)}, premium-only accuracy ${percent(set.premiumOnlyAccuracy)}`,
      `  at the deployed threshold ${deployed.threshold}: premium share ${percent(deployed.premiumShare)}, quality retained ${percent(deployed.qualityRetained)} of premium-only`,
      `  cost reduction against premium-only at ${percent(report.qualityTarget)} of premium quality: router ${percent(set.costReductionAtTarget.router)}, random router ${percent(set.costReductionAtTarget.randomRouter)} (length-only router ${percent(set.costReductionAtTarget.lengthOnlyRouter)})`,
      `  ${percent(BOOTSTRAP_COVERAGE)} bootstrap interval over ${BOOTSTRAP_RESAMPLES} resamples: router ${percent(interval.router.low)} to ${percent(interval.router.high)}, lead over length-only ${points(interval.leadOverBaseline.low)} to ${points(interval.leadOverBaseline.high)} points`,
      `  prompt kinds: ${Object.entries(set.promptKinds)
        .map(([kind, share]) => `${kind} ${percent(share)}`)
        .join(', ')}`,
      '',
    );
  }
  lines.push(
    `Mean decision time: ${report.meanDecisionMilliseconds.toFixed(4)} ms over ${report.decisions} decisions, after a warm-up pass.`,
  );
  return lines.join('\n');
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const partIndex = args.indexOf('--part');
  const part = (partIndex >= 0 ? args[partIndex + 1] : 'held-out') as Part;
  if (!['held-out', 'training', 'all'].includes(part)) {
    console.error(`Invalid --part "${part}": use held-out, training or all.`);
    return 2;
  }

  try {
    const report = await evaluateRouting({ dataDir: resolveDataDir(), part });
    console.log(
      args.includes('--json') ? JSON.stringify(report) : formatReport(report),
    );
    return 0;
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    return 1;
  }
}

const isEntryPoint =
  process.argv[1] !== undefined &&
  path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isEntryPoint) {
  void main().then((code) => {
    process.exitCode = code;
  });
}
