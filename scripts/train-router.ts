/**
 * Trains the router's kind models on the training part of the labelled
 * routing data and writes lib/router-weights.ts.
 *
 *   npx tsx scripts/train-router.ts [--out FILE]
 *
 * Only the training part of each file is read (the held-out part, chosen
 * by isHeldOut, stays for `npm run eval:routing`). The word table's
 * smoothing and the L2 strength are picked by 5-fold cross-validation on
 * the training part, and the calibration threshold comes from the
 * cross-validated scores, so it is not fitted to the same prompts twice.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { format } from 'prettier';
import {
  collectQuestionFacts,
  computeHandFeatures,
  hashWordBuckets,
  WORD_BUCKETS,
} from '../lib/router-features';
import {
  computeWordRates,
  type KindModel,
  type LogisticModel,
  logSigmoid,
  MODEL_INPUT_NAMES,
  type RouterWeights,
  sigmoid,
  type WordTable,
} from '../lib/router-model';
import {
  findCheapestPoint,
  type RoutingRecord,
  splitRecords,
} from '../lib/router-evaluation';
import { loadRoutingFile, resolveDataDir } from './eval-routing';

const REPO_ROOT = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
);
const DEFAULT_OUTPUT = path.join(REPO_ROOT, 'lib/router-weights.ts');

interface Candidate {
  /** Pseudo-count pulling a bucket's rates toward the overall rates. */
  smoothing: number;
  /** L2 penalty of the regressions. */
  l2: number;
}

/** Settings tried by cross-validation on the training part. */
const CANDIDATES: readonly Candidate[] = [
  { smoothing: 5, l2: 0.01 },
  { smoothing: 5, l2: 0.03 },
  { smoothing: 5, l2: 0.1 },
  { smoothing: 20, l2: 0.01 },
  { smoothing: 20, l2: 0.03 },
  { smoothing: 20, l2: 0.1 },
];

/**
 * Quality targets whose cost reductions are averaged to compare
 * candidates, because one target alone gives a noisy figure on a few
 * hundred prompts.
 */
const SELECTION_TARGETS = [0.93, 0.94, 0.95, 0.96, 0.97];
const FOLDS = 5;
const ITERATIONS = 500;
const LEARNING_RATE = 0.05;

interface Example {
  hand: number[];
  buckets: number[];
  cheapFails: number;
  premiumSucceeds: number;
}

async function main(): Promise<void> {
  const outputIndex = process.argv.indexOf('--out');
  const outputPath =
    outputIndex >= 0
      ? path.resolve(process.argv[outputIndex + 1] ?? '')
      : DEFAULT_OUTPUT;
  const dataDir = resolveDataDir();

  const mmlu = splitRecords(loadRoutingFile(dataDir, 'routing-mmlu-dev.jsonl'));
  const gsm8k = splitRecords(
    loadRoutingFile(dataDir, 'routing-gsm8k-dev.jsonl'),
  );
  console.log(
    `training on ${mmlu.training.length} MMLU and ${gsm8k.training.length} GSM8K prompts (held-out parts unread)`,
  );

  const weights: RouterWeights = {
    inputNames: [...MODEL_INPUT_NAMES],
    wordBuckets: WORD_BUCKETS,
    multipleChoice: trainKindModel('MMLU', mmlu.training),
    mathsWordProblem: trainKindModel('GSM8K', gsm8k.training),
  };

  // Formatted like every other source file, so the format check passes.
  const source = await format(formatWeightsModule(weights), {
    filepath: outputPath,
    singleQuote: true,
  });
  writeFileSync(outputPath, source);
  console.log(`wrote ${path.relative(REPO_ROOT, outputPath)}`);
}

/**
 * Trains one kind model: picks a candidate by cross-validated cost
 * reduction, calibrates on its cross-validated scores, then fits on all
 * training records.
 */
function trainKindModel(label: string, records: RoutingRecord[]): KindModel {
  const examples = records.map(toExample);

  let best = { candidate: CANDIDATES[0]!, reduction: -1, scores: [0] };
  for (const candidate of CANDIDATES) {
    const scores = crossValidate(examples, candidate);
    const reduction =
      SELECTION_TARGETS.reduce(
        (sum, target) =>
          sum + 1 - findCheapestPoint(scores, records, target).premiumShare,
        0,
      ) / SELECTION_TARGETS.length;
    console.log(
      `${label}: smoothing ${candidate.smoothing}, L2 ${candidate.l2}: cross-validated cost reduction ${percent(reduction)} (mean over 93% to 97% quality)`,
    );
    if (reduction > best.reduction) {
      best = { candidate, reduction, scores };
    }
  }

  const cheapest = findCheapestPoint(best.scores, records);
  const cheapestByLength = findCheapestPoint(
    records.map((record) => record.prompt.length),
    records,
  );
  console.log(
    `${label}: cross-validated cost reduction at 95% quality ${percent(1 - cheapest.premiumShare)}, length-only router on the same prompts ${percent(1 - cheapestByLength.premiumShare)}`,
  );

  const threshold = cheapest.threshold;
  const calibrationExponent =
    threshold > 0 && threshold < 1 ? Math.log(0.5) / Math.log(threshold) : 1;
  console.log(
    `${label}: chose smoothing ${best.candidate.smoothing}, L2 ${best.candidate.l2}; raw threshold ${threshold.toFixed(4)}, calibration exponent ${calibrationExponent.toFixed(3)}`,
  );

  const fitted = fitKindModel(examples, best.candidate);
  return {
    wordTable: roundWordTable(fitted.wordTable),
    inputMean: fitted.inputMean.map(round),
    inputScale: fitted.inputScale.map(round),
    cheapFails: roundLogistic(fitted.cheapFails),
    premiumSucceeds: roundLogistic(fitted.premiumSucceeds),
    calibrationExponent: round(calibrationExponent),
  };
}

function toExample(record: RoutingRecord): Example {
  const facts = collectQuestionFacts(record.prompt);
  return {
    hand: computeHandFeatures(facts),
    buckets: hashWordBuckets(facts.text),
    cheapFails: record.weakCorrect ? 0 : 1,
    premiumSucceeds: record.strongCorrect ? 1 : 0,
  };
}

/**
 * Fits a kind model without calibration. The regressions learn from word
 * rates computed out of fold, so that a prompt's own label never feeds its
 * own word rates, while the shipped word table uses every example.
 */
function fitKindModel(
  examples: Example[],
  candidate: Candidate,
): Omit<KindModel, 'calibrationExponent'> {
  const inputs = computeOutOfFoldInputs(examples, candidate.smoothing);
  const { inputMean, inputScale } = computeStandardization(inputs);
  const standardized = inputs.map((row) =>
    standardize(row, inputMean, inputScale),
  );

  return {
    wordTable: buildWordTable(examples, candidate.smoothing),
    inputMean,
    inputScale,
    cheapFails: fitLogistic(
      standardized,
      examples.map((example) => example.cheapFails),
      candidate.l2,
    ),
    premiumSucceeds: fitLogistic(
      standardized,
      examples.map((example) => example.premiumSucceeds),
      candidate.l2,
    ),
  };
}

/** Returns out-of-fold need probabilities; fold membership is index % FOLDS. */
function crossValidate(examples: Example[], candidate: Candidate): number[] {
  const scores = new Array<number>(examples.length).fill(0);

  for (let fold = 0; fold < FOLDS; fold += 1) {
    const training = examples.filter(
      (_example, index) => index % FOLDS !== fold,
    );
    const model = fitKindModel(training, candidate);
    for (const [index, example] of examples.entries()) {
      if (index % FOLDS === fold) {
        scores[index] = computeNeedProbability(model, example);
      }
    }
  }
  return scores;
}

function computeNeedProbability(
  model: Omit<KindModel, 'calibrationExponent'>,
  example: Example,
): number {
  const inputs = standardize(
    [...example.hand, ...computeWordRates(model.wordTable, example.buckets)],
    model.inputMean,
    model.inputScale,
  );
  return Math.exp(
    logSigmoid(applyLogistic(model.cheapFails, inputs)) +
      logSigmoid(applyLogistic(model.premiumSucceeds, inputs)),
  );
}

/** Builds the word table of a set of examples; see WordTable. */
function buildWordTable(examples: Example[], smoothing: number): WordTable {
  const documents = new Array<number>(WORD_BUCKETS).fill(0);
  const cheapFailures = new Array<number>(WORD_BUCKETS).fill(0);
  const premiumSuccesses = new Array<number>(WORD_BUCKETS).fill(0);
  for (const example of examples) {
    for (const bucket of example.buckets) {
      documents[bucket]! += 1;
      cheapFailures[bucket]! += example.cheapFails;
      premiumSuccesses[bucket]! += example.premiumSucceeds;
    }
  }

  const count = Math.max(1, examples.length);
  const overallCheapFailRate =
    examples.reduce((sum, example) => sum + example.cheapFails, 0) / count;
  const overallPremiumSuccessRate =
    examples.reduce((sum, example) => sum + example.premiumSucceeds, 0) / count;
  const smoothed = (hits: number, bucket: number, overall: number) =>
    (hits + smoothing * overall) / (documents[bucket]! + smoothing);

  return {
    cheapFailRate: cheapFailures.map((hits, bucket) =>
      smoothed(hits, bucket, overallCheapFailRate),
    ),
    premiumSuccessRate: premiumSuccesses.map((hits, bucket) =>
      smoothed(hits, bucket, overallPremiumSuccessRate),
    ),
    weight: documents.map((seen) => (seen === 0 ? 0 : Math.log(count / seen))),
    overallCheapFailRate,
    overallPremiumSuccessRate,
  };
}

/** Computes every example's model inputs with a word table built on the other folds. */
function computeOutOfFoldInputs(
  examples: Example[],
  smoothing: number,
): number[][] {
  const inputs: number[][] = new Array<number[]>(examples.length);

  for (let fold = 0; fold < FOLDS; fold += 1) {
    const table = buildWordTable(
      examples.filter((_example, index) => index % FOLDS !== fold),
      smoothing,
    );
    for (const [index, example] of examples.entries()) {
      if (index % FOLDS === fold) {
        inputs[index] = [
          ...example.hand,
          ...computeWordRates(table, example.buckets),
        ];
      }
    }
  }
  return inputs;
}

function computeStandardization(inputs: number[][]): {
  inputMean: number[];
  inputScale: number[];
} {
  const count = Math.max(1, inputs.length);
  const inputMean = MODEL_INPUT_NAMES.map(
    (_name, column) =>
      inputs.reduce((sum, row) => sum + row[column]!, 0) / count,
  );
  const inputScale = MODEL_INPUT_NAMES.map((_name, column) => {
    const variance =
      inputs.reduce(
        (sum, row) => sum + (row[column]! - inputMean[column]!) ** 2,
        0,
      ) / count;
    // An input that never varies in training gets scale 1, not a division by 0.
    const deviation = Math.sqrt(variance);
    return deviation < 1e-4 ? 1 : deviation;
  });
  return { inputMean, inputScale };
}

function standardize(
  row: readonly number[],
  mean: readonly number[],
  scale: readonly number[],
): number[] {
  return row.map((value, column) => (value - mean[column]!) / scale[column]!);
}

function applyLogistic(
  model: LogisticModel,
  inputs: readonly number[],
): number {
  return inputs.reduce(
    (sum, value, index) => sum + value * model.weights[index]!,
    model.bias,
  );
}

/**
 * Fits a logistic regression by full-batch Adam on the mean log loss plus
 * an L2 penalty on the weights (not the bias).
 */
function fitLogistic(
  inputs: number[][],
  labels: number[],
  l2: number,
): LogisticModel {
  const size = 1 + MODEL_INPUT_NAMES.length;
  const parameters = new Float64Array(size);
  const firstMoment = new Float64Array(size);
  const secondMoment = new Float64Array(size);
  const gradient = new Float64Array(size);
  const count = Math.max(1, inputs.length);

  for (let step = 1; step <= ITERATIONS; step += 1) {
    gradient.fill(0);
    for (const [row, values] of inputs.entries()) {
      let logit = parameters[0]!;
      for (const [index, value] of values.entries()) {
        logit += parameters[1 + index]! * value;
      }
      const error = (sigmoid(logit) - labels[row]!) / count;
      gradient[0]! += error;
      for (const [index, value] of values.entries()) {
        gradient[1 + index]! += error * value;
      }
    }

    for (let index = 1; index < size; index += 1) {
      gradient[index]! += l2 * parameters[index]!;
    }
    for (let index = 0; index < size; index += 1) {
      const value = gradient[index]!;
      firstMoment[index] = 0.9 * firstMoment[index]! + 0.1 * value;
      secondMoment[index] =
        0.999 * secondMoment[index]! + 0.001 * value * value;
      const corrected = firstMoment[index]! / (1 - 0.9 ** step);
      const scale =
        Math.sqrt(secondMoment[index]! / (1 - 0.999 ** step)) + 1e-8;
      parameters[index]! -= (LEARNING_RATE * corrected) / scale;
    }
  }

  return { bias: parameters[0]!, weights: Array.from(parameters.slice(1)) };
}

function roundLogistic(model: LogisticModel): LogisticModel {
  return { bias: round(model.bias), weights: model.weights.map(round) };
}

function roundWordTable(table: WordTable): WordTable {
  const short = (value: number) => Math.round(value * 1_000) / 1_000;
  return {
    cheapFailRate: table.cheapFailRate.map(short),
    premiumSuccessRate: table.premiumSuccessRate.map(short),
    weight: table.weight.map(short),
    overallCheapFailRate: round(table.overallCheapFailRate),
    overallPremiumSuccessRate: round(table.overallPremiumSuccessRate),
  };
}

function formatWeightsModule(weights: RouterWeights): string {
  return [
    '// Generated by scripts/train-router.ts from the training part of the',
    '// labelled routing data; do not edit by hand.',
    "import type { RouterWeights } from './router-model';",
    '',
    `export const ROUTER_WEIGHTS: RouterWeights = ${JSON.stringify(weights)};`,
    '',
  ].join('\n');
}

function percent(value: number): string {
  return `${(value * 100).toFixed(1)}%`;
}

function round(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}

await main();
