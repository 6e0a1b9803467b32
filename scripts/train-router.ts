/**
 * Trains the router's kind models on the training part of the labelled
 * routing data and writes lib/router-weights.ts.
 *
 *   npx tsx scripts/train-router.ts [--out FILE]
 *
 * Only the training part of each file is read (the held-out part, chosen
 * by isHeldOut, stays for `npm run eval:routing`). The L2 strength is
 * picked by 5-fold cross-validation on the training part, and the
 * calibration threshold comes from the cross-validated scores, so it is
 * not fitted to the same prompts twice.
 */
import { writeFileSync } from 'node:fs';
import { format } from 'prettier';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  collectQuestionFacts,
  computeHandFeatures,
  HAND_FEATURE_NAMES,
  hashWordBuckets,
  WORD_BUCKETS,
} from '../lib/router-features';
import {
  computeNeedProbability,
  type KindModel,
  type LogisticModel,
  type RouterWeights,
  sigmoid,
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

/**
 * L2 strengths on the word buckets tried by cross-validation; Infinity
 * leaves the word buckets out, so the model uses the hand features only.
 */
const WORD_L2_CANDIDATES = [0.003, 0.01, 0.03, 0.1, Infinity];

/**
 * Quality targets whose cost reductions are averaged to compare
 * candidates: one target alone gives a noisy figure on a few hundred
 * prompts.
 */
const SELECTION_TARGETS = [0.93, 0.94, 0.95, 0.96, 0.97];
const HAND_L2 = 0.01;
const FOLDS = 5;
const ITERATIONS = 600;
const LEARNING_RATE = 0.05;

interface Example {
  hand: number[];
  buckets: number[];
  cheapFails: number;
  premiumSucceeds: number;
}

interface TrainingOptions {
  wordL2: number;
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
    handFeatureNames: [...HAND_FEATURE_NAMES],
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
 * Trains one kind model: picks the word L2 by cross-validated cost
 * reduction, calibrates on the cross-validated scores, then fits on all
 * training records.
 */
function trainKindModel(label: string, records: RoutingRecord[]): KindModel {
  const examples = records.map(toExample);
  const { featureMean, featureScale } = computeStandardization(examples);
  const standardized = examples.map((example) => ({
    ...example,
    hand: example.hand.map(
      (value, index) => (value - featureMean[index]!) / featureScale[index]!,
    ),
  }));

  let best = {
    wordL2: WORD_L2_CANDIDATES[0]!,
    reduction: -1,
    scores: [] as number[],
  };
  for (const wordL2 of WORD_L2_CANDIDATES) {
    const scores = crossValidate(standardized, { wordL2 });
    const reduction =
      SELECTION_TARGETS.reduce(
        (sum, target) =>
          sum + 1 - findCheapestPoint(scores, records, target).premiumShare,
        0,
      ) / SELECTION_TARGETS.length;
    console.log(
      `${label}: word L2 ${wordL2}: cross-validated cost reduction ${(reduction * 100).toFixed(1)}% (mean over 93% to 97% quality)`,
    );
    if (reduction > best.reduction) {
      best = { wordL2, reduction, scores };
    }
  }

  const threshold = findCheapestPoint(best.scores, records).threshold;
  const calibrationExponent =
    threshold > 0 && threshold < 1 ? Math.log(0.5) / Math.log(threshold) : 1;
  console.log(
    `${label}: chose word L2 ${best.wordL2}, raw threshold ${threshold.toFixed(4)}, calibration exponent ${calibrationExponent.toFixed(3)}`,
  );

  return {
    featureMean,
    featureScale,
    cheapFails: fitLogistic(standardized, 'cheapFails', {
      wordL2: best.wordL2,
    }),
    premiumSucceeds: fitLogistic(standardized, 'premiumSucceeds', {
      wordL2: best.wordL2,
    }),
    calibrationExponent,
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

function computeStandardization(examples: Example[]): {
  featureMean: number[];
  featureScale: number[];
} {
  const count = examples.length;
  const featureMean = HAND_FEATURE_NAMES.map(
    (_name, index) =>
      examples.reduce((sum, example) => sum + example.hand[index]!, 0) / count,
  );
  const featureScale = HAND_FEATURE_NAMES.map((_name, index) => {
    const variance =
      examples.reduce(
        (sum, example) =>
          sum + (example.hand[index]! - featureMean[index]!) ** 2,
        0,
      ) / count;
    // A feature that never varies in training gets scale 1, not a division by 0.
    const deviation = Math.sqrt(variance);
    return deviation < 1e-4 ? 1 : round(deviation);
  });
  return { featureMean: featureMean.map(round), featureScale };
}

/** Returns out-of-fold need probabilities; folds are fixed by index. */
function crossValidate(
  examples: Example[],
  options: TrainingOptions,
): number[] {
  const scores = new Array<number>(examples.length).fill(0);
  for (let fold = 0; fold < FOLDS; fold += 1) {
    const training = examples.filter(
      (_example, index) => index % FOLDS !== fold,
    );
    const model = {
      featureMean: HAND_FEATURE_NAMES.map(() => 0),
      featureScale: HAND_FEATURE_NAMES.map(() => 1),
      cheapFails: fitLogistic(training, 'cheapFails', options),
      premiumSucceeds: fitLogistic(training, 'premiumSucceeds', options),
    };
    for (const [index, example] of examples.entries()) {
      if (index % FOLDS === fold) {
        scores[index] = computeNeedProbability(
          model,
          example.hand,
          example.buckets,
        );
      }
    }
  }
  return scores;
}

/**
 * Fits a logistic regression by full-batch Adam on the mean log loss plus
 * L2 penalties (HAND_L2 on hand features, wordL2 on word buckets).
 */
function fitLogistic(
  examples: Example[],
  target: 'cheapFails' | 'premiumSucceeds',
  options: TrainingOptions,
): LogisticModel {
  const handCount = HAND_FEATURE_NAMES.length;
  const size = 1 + handCount + WORD_BUCKETS;
  const parameters = new Float64Array(size);
  const firstMoment = new Float64Array(size);
  const secondMoment = new Float64Array(size);
  const gradient = new Float64Array(size);
  const count = examples.length;
  const useWords = Number.isFinite(options.wordL2);

  for (let step = 1; step <= ITERATIONS; step += 1) {
    gradient.fill(0);
    for (const example of examples) {
      const bucketValue =
        example.buckets.length === 0
          ? 0
          : 1 / Math.sqrt(example.buckets.length);
      let logit = parameters[0]!;
      for (let index = 0; index < handCount; index += 1) {
        logit += parameters[1 + index]! * example.hand[index]!;
      }
      for (const bucket of useWords ? example.buckets : []) {
        logit += parameters[1 + handCount + bucket]! * bucketValue;
      }

      const error = (sigmoid(logit) - example[target]) / count;
      gradient[0]! += error;
      for (let index = 0; index < handCount; index += 1) {
        gradient[1 + index]! += error * example.hand[index]!;
      }
      for (const bucket of useWords ? example.buckets : []) {
        gradient[1 + handCount + bucket]! += error * bucketValue;
      }
    }

    for (let index = 1; index < size; index += 1) {
      const l2 = index <= handCount ? HAND_L2 : useWords ? options.wordL2 : 0;
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

  const values = Array.from(parameters, round);
  return {
    bias: values[0]!,
    hand: values.slice(1, 1 + handCount),
    words: values.slice(1 + handCount),
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

function round(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}

await main();
