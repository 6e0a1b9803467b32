/**
 * The trained part of the router: for each prompt kind that has labelled
 * data, two logistic regressions over the hand features and the hashed
 * word buckets. One estimates the chance that the cheap model fails, the
 * other the chance that the premium model succeeds; their product is the
 * chance that the prompt needs premium.
 */
import {
  HAND_FEATURE_NAMES,
  type HandFeatureName,
  WORD_BUCKETS,
} from './router-features';

/** One logistic regression: a bias, hand feature weights and bucket weights. */
export interface LogisticModel {
  bias: number;
  /** Weights of the standardized hand features, in HAND_FEATURE_NAMES order. */
  hand: number[];
  /** Weights of the WORD_BUCKETS hashed word buckets. */
  words: number[];
}

/** The trained model of one prompt kind. */
export interface KindModel {
  /** Training mean of each hand feature, for standardizing. */
  featureMean: number[];
  /** Training standard deviation of each hand feature, for standardizing. */
  featureScale: number[];
  cheapFails: LogisticModel;
  premiumSucceeds: LogisticModel;
  /**
   * Exponent that maps the product of the two chances to the router's
   * score, chosen so that the training threshold reaching 95% of premium
   * quality becomes a score of 0.5.
   */
  calibrationExponent: number;
}

/** The weights file the training script writes. */
export interface RouterWeights {
  handFeatureNames: readonly string[];
  wordBuckets: number;
  multipleChoice: KindModel;
  mathsWordProblem: KindModel;
}

/** A kind model's output for one prompt. */
export interface KindModelOutput {
  /** Calibrated score in [0, 1]; 0.5 is the trained premium threshold. */
  score: number;
  /** Each hand feature's share of log(score), for the reasons. */
  contributions: Record<HandFeatureName, number>;
  /** The hashed words' share of log(score). */
  wordContribution: number;
}

/**
 * Scores one prompt with a kind model, from its hand features and its
 * word buckets. Also returns how much each hand feature pushed the score,
 * measured on log(score) with the first-order term of log-sigmoid.
 */
export function applyKindModel(
  model: KindModel,
  handFeatures: readonly number[],
  wordBuckets: readonly number[],
): KindModelOutput {
  const standardized = standardizeFeatures(model, handFeatures);
  const bucketValue =
    wordBuckets.length === 0 ? 0 : 1 / Math.sqrt(wordBuckets.length);
  const models = [model.cheapFails, model.premiumSucceeds];
  const contributions = Object.fromEntries(
    HAND_FEATURE_NAMES.map((name) => [name, 0]),
  ) as Record<HandFeatureName, number>;
  let wordContribution = 0;
  let logProbability = 0;

  for (const logistic of models) {
    const handTerms = standardized.map(
      (value, index) => value * (logistic.hand[index] ?? 0),
    );
    const wordTerm =
      bucketValue *
      wordBuckets.reduce(
        (sum, bucket) => sum + (logistic.words[bucket] ?? 0),
        0,
      );
    const logit =
      logistic.bias + wordTerm + handTerms.reduce((sum, term) => sum + term, 0);

    // d log(sigmoid(z)) / dz = 1 - sigmoid(z) weighs each term's share.
    const slope = 1 - sigmoid(logit);
    logProbability += logSigmoid(logit);
    wordContribution += slope * wordTerm * model.calibrationExponent;
    for (const [index, name] of HAND_FEATURE_NAMES.entries()) {
      contributions[name] +=
        slope * (handTerms[index] ?? 0) * model.calibrationExponent;
    }
  }

  return {
    score: Math.exp(logProbability * model.calibrationExponent),
    contributions,
    wordContribution,
  };
}

/** Returns the chance, before calibration, that a prompt needs premium. */
export function computeNeedProbability(
  model: Pick<KindModel, 'featureMean' | 'featureScale'> &
    Pick<KindModel, 'cheapFails' | 'premiumSucceeds'>,
  handFeatures: readonly number[],
  wordBuckets: readonly number[],
): number {
  const output = applyKindModel(
    { ...model, calibrationExponent: 1 },
    handFeatures,
    wordBuckets,
  );
  return output.score;
}

/** Subtracts the training mean and divides by the training deviation. */
export function standardizeFeatures(
  model: Pick<KindModel, 'featureMean' | 'featureScale'>,
  handFeatures: readonly number[],
): number[] {
  return handFeatures.map(
    (value, index) =>
      (value - (model.featureMean[index] ?? 0)) /
      (model.featureScale[index] ?? 1),
  );
}

/** Checks that a weights object matches the feature layout of this build. */
export function validateRouterWeights(weights: RouterWeights): void {
  const names = HAND_FEATURE_NAMES.join(',');
  if (weights.handFeatureNames.join(',') !== names) {
    throw new Error(
      'Router weights were trained on other hand features: run `npx tsx scripts/train-router.ts` again.',
    );
  }
  if (weights.wordBuckets !== WORD_BUCKETS) {
    throw new Error(
      `Router weights have ${weights.wordBuckets} word buckets, this build uses ${WORD_BUCKETS}: run \`npx tsx scripts/train-router.ts\` again.`,
    );
  }
}

export function sigmoid(value: number): number {
  return 1 / (1 + Math.exp(-value));
}

function logSigmoid(value: number): number {
  return value >= 0
    ? -Math.log1p(Math.exp(-value))
    : value - Math.log1p(Math.exp(value));
}
