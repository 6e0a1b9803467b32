/**
 * The trained part of the router. For each prompt kind that has labelled
 * data there is a word table and two logistic regressions.
 *
 * The word table stores, for each hashed word bucket, how often the cheap
 * model failed and the premium model succeeded on training prompts that
 * contain a word of that bucket (smoothed toward the overall rates). A
 * prompt's two word rates are the averages over its words, weighted by
 * inverse document frequency, so rare topic words count more than "the".
 *
 * The regressions take the hand features and the two word rates. One
 * estimates the chance that the cheap model fails, and the other the
 * chance that the premium model succeeds. Their product estimates the
 * chance that the prompt needs premium.
 */
import {
  HAND_FEATURE_NAMES,
  type HandFeatureName,
  WORD_BUCKETS,
} from './router-features';

/**
 * Per-bucket statistics of the training prompts of one kind. A model
 * trained without word rates has empty arrays and overall rates of 0, so
 * its two word-rate inputs are always 0.
 */
export interface WordTable {
  /** Smoothed share of prompts with a word in the bucket that the cheap model failed. */
  cheapFailRate: number[];
  /** Smoothed share of prompts with a word in the bucket that the premium model got right. */
  premiumSuccessRate: number[];
  /** Inverse document frequency of the bucket; 0 for a bucket no training prompt used. */
  weight: number[];
  /** Overall rates, used for a prompt with no known word. */
  overallCheapFailRate: number;
  overallPremiumSuccessRate: number;
}

/** Names of the model inputs: the hand features, then the two word rates. */
export const MODEL_INPUT_NAMES = [
  ...HAND_FEATURE_NAMES,
  'wordCheapFailRate',
  'wordPremiumSuccessRate',
] as const;

export type ModelInputName = (typeof MODEL_INPUT_NAMES)[number];

/** One logistic regression over the standardized model inputs. */
export interface LogisticModel {
  bias: number;
  /** One weight per model input, in MODEL_INPUT_NAMES order. */
  weights: number[];
}

/** The trained model of one prompt kind. */
export interface KindModel {
  wordTable: WordTable;
  /** Training mean of each model input, for standardizing. */
  inputMean: number[];
  /** Training standard deviation of each model input, for standardizing. */
  inputScale: number[];
  cheapFails: LogisticModel;
  premiumSucceeds: LogisticModel;
  /**
   * Exponent that maps the product of the two chances to the router's
   * score. Training chooses it so that the threshold that kept 95% of
   * premium quality in cross-validation becomes a score of 0.5.
   */
  calibrationExponent: number;
}

/** The weights file that the training script writes. */
export interface RouterWeights {
  inputNames: readonly string[];
  wordBuckets: number;
  multipleChoice: KindModel;
  mathsWordProblem: KindModel;
}

/** A kind model's output for one prompt. */
export interface KindModelOutput {
  /** Calibrated score in (0, 1); 0.5 is the trained premium threshold. */
  score: number;
  /** Each hand feature's share of log(score), for the reasons. */
  contributions: Record<HandFeatureName, number>;
  /** The two word rates' share of log(score). */
  wordContribution: number;
}

/**
 * Computes a prompt's two word rates from its word buckets: the averages
 * of the table's rates over the known buckets, weighted by the table's
 * inverse document frequency.
 */
export function computeWordRates(
  table: WordTable,
  wordBuckets: readonly number[],
): [cheapFailRate: number, premiumSuccessRate: number] {
  let cheapFail = 0;
  let premiumSuccess = 0;
  let totalWeight = 0;

  for (const bucket of wordBuckets) {
    const weight = table.weight[bucket] ?? 0;
    if (weight <= 0) {
      continue;
    }
    cheapFail += weight * (table.cheapFailRate[bucket] ?? 0);
    premiumSuccess += weight * (table.premiumSuccessRate[bucket] ?? 0);
    totalWeight += weight;
  }

  if (totalWeight === 0) {
    return [table.overallCheapFailRate, table.overallPremiumSuccessRate];
  }
  return [cheapFail / totalWeight, premiumSuccess / totalWeight];
}

/**
 * Scores one prompt with a kind model. Also returns how much each input
 * pushed log(score), from the first-order term of log-sigmoid.
 */
export function applyKindModel(
  model: KindModel,
  handFeatures: readonly number[],
  wordBuckets: readonly number[],
): KindModelOutput {
  const inputs = standardizeInputs(model, [
    ...handFeatures,
    ...computeWordRates(model.wordTable, wordBuckets),
  ]);
  const shares = inputs.map(() => 0);
  let logProbability = 0;

  for (const logistic of [model.cheapFails, model.premiumSucceeds]) {
    const terms = inputs.map(
      (value, index) => value * (logistic.weights[index] ?? 0),
    );
    const logit = logistic.bias + terms.reduce((sum, term) => sum + term, 0);

    // The derivative of log(sigmoid(z)) is 1 - sigmoid(z).
    const slope = 1 - sigmoid(logit);
    logProbability += logSigmoid(logit);
    for (const [index, term] of terms.entries()) {
      shares[index]! += slope * term * model.calibrationExponent;
    }
  }

  const contributions = Object.fromEntries(
    HAND_FEATURE_NAMES.map((name, index) => [name, shares[index] ?? 0]),
  ) as Record<HandFeatureName, number>;
  return {
    score: Math.exp(logProbability * model.calibrationExponent),
    contributions,
    wordContribution: shares
      .slice(HAND_FEATURE_NAMES.length)
      .reduce((sum, share) => sum + share, 0),
  };
}

/** Subtracts the training mean and divides by the training deviation. */
export function standardizeInputs(
  model: Pick<KindModel, 'inputMean' | 'inputScale'>,
  inputs: readonly number[],
): number[] {
  return inputs.map(
    (value, index) =>
      (value - (model.inputMean[index] ?? 0)) / (model.inputScale[index] ?? 1),
  );
}

/** Checks that a weights object matches the inputs of this build. */
export function validateRouterWeights(weights: RouterWeights): void {
  if (weights.inputNames.join(',') !== MODEL_INPUT_NAMES.join(',')) {
    throw new Error(
      'Router weights were trained on other inputs: run `npx tsx scripts/train-router.ts` again.',
    );
  }
  if (weights.wordBuckets !== WORD_BUCKETS) {
    throw new Error(
      `Router weights have ${weights.wordBuckets} word buckets but this build uses ${WORD_BUCKETS}: run \`npx tsx scripts/train-router.ts\` again.`,
    );
  }
  for (const [kind, model] of [
    ['multipleChoice', weights.multipleChoice],
    ['mathsWordProblem', weights.mathsWordProblem],
  ] as const) {
    const { cheapFailRate, premiumSuccessRate, weight } = model.wordTable;
    const lengths = [
      cheapFailRate.length,
      premiumSuccessRate.length,
      weight.length,
    ];
    if (
      !lengths.every((length) => length === lengths[0]) ||
      (lengths[0] !== 0 && lengths[0] !== WORD_BUCKETS)
    ) {
      throw new Error(
        `Router weights for ${kind} have word tables of ${lengths.join(', ')} entries; expected ${WORD_BUCKETS} or none: run \`npx tsx scripts/train-router.ts\` again.`,
      );
    }
    if (
      model.cheapFails.weights.length !== MODEL_INPUT_NAMES.length ||
      model.premiumSucceeds.weights.length !== MODEL_INPUT_NAMES.length
    ) {
      throw new Error(
        `Router weights for ${kind} need ${MODEL_INPUT_NAMES.length} regression weights: run \`npx tsx scripts/train-router.ts\` again.`,
      );
    }
  }
}

export function sigmoid(value: number): number {
  return 1 / (1 + Math.exp(-value));
}

export function logSigmoid(value: number): number {
  return value >= 0
    ? -Math.log1p(Math.exp(-value))
    : value - Math.log1p(Math.exp(value));
}
