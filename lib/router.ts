/**
 * The router: a pure function that decides whether a question goes to the
 * cheap or the premium tier, with a score and the reasons behind it.
 *
 * Multiple-choice questions and maths word problems are scored by logistic
 * models trained on labelled prompts (lib/router-weights.ts, written by
 * scripts/train-router.ts). Other questions are scored by the rules in
 * lib/router-rules.ts. The conversation and the page context then shift
 * the score of either.
 */
import type { ChatMessage, PageContext, RouteDecision } from './protocol';
import {
  classifyPrompt,
  collectQuestionFacts,
  computeHandFeatures,
  HAND_FEATURE_NAMES,
  type HandFeatureName,
  hashWordBuckets,
  looksLikeCode,
  type PromptKind,
  type QuestionFacts,
} from './router-features';
import {
  applyKindModel,
  type KindModelOutput,
  sigmoid,
  validateRouterWeights,
} from './router-model';
import {
  assessContext,
  assessGeneralQuestion,
  PLAIN_QUESTION_REASON,
} from './router-rules';
import { ROUTER_WEIGHTS } from './router-weights';

export interface RouteInput {
  question: string;
  history?: readonly ChatMessage[];
  pageContext?: PageContext;
}

/**
 * Score at or above which a question goes to the premium tier. The trained
 * models are calibrated so that this score is the threshold that kept 95%
 * of premium-only accuracy on their training data.
 */
export const DEFAULT_PREMIUM_THRESHOLD = 0.5;

validateRouterWeights(ROUTER_WEIGHTS);

/** Smallest summed contribution to log(score) that earns a reason. */
const REASON_MIN_CONTRIBUTION = 0.05;

/** Reasons given beside the prompt kind for a trained model's decision. */
const MAX_MODEL_REASONS = 2;

/**
 * Routes a question to a tier. Returns a score between 0 and 1 (higher means
 * more likely to need premium), the tier (premium when the score is at or
 * above threshold) and reasons a person can read, most important first.
 * Never throws on any string input.
 */
export function routeQuestion(
  input: RouteInput,
  threshold = DEFAULT_PREMIUM_THRESHOLD,
): RouteDecision {
  const facts = collectQuestionFacts(input.question);
  const kind = classifyPrompt(facts);

  const question =
    kind === 'general'
      ? assessGeneralQuestion(facts)
      : assessTrainedKind(kind, facts, threshold);
  const context = assessContext(input.history ?? [], input.pageContext, facts);

  const score = clampScore(sigmoid(question.logit + context.logit));
  const tier = score >= threshold ? 'premium' : 'cheap';
  // A context reason replaces "short, general question", which would
  // otherwise contradict a premium decision made for the context.
  const questionReasons =
    context.reasons.length > 0
      ? question.reasons.filter((reason) => reason !== PLAIN_QUESTION_REASON)
      : question.reasons;
  return {
    tier,
    score,
    reasons: [...questionReasons, ...context.reasons],
  };
}

/** Scores a multiple-choice question or a maths word problem with its model. */
function assessTrainedKind(
  kind: Exclude<PromptKind, 'general'>,
  facts: QuestionFacts,
  threshold: number,
): { logit: number; reasons: string[] } {
  const model =
    kind === 'multiple-choice'
      ? ROUTER_WEIGHTS.multipleChoice
      : ROUTER_WEIGHTS.mathsWordProblem;
  const handFeatures = computeHandFeatures(facts);
  const output = applyKindModel(
    model,
    handFeatures,
    hashWordBuckets(facts.text),
  );
  const score = clampScore(output.score);
  const isPremium = score >= threshold;

  return {
    logit: Math.log(score / (1 - score)),
    reasons: [
      describeKind(kind, facts, isPremium),
      ...describeContributions(output, facts, handFeatures, isPremium),
    ],
  };
}

function describeKind(
  kind: Exclude<PromptKind, 'general'>,
  facts: QuestionFacts,
  isPremium: boolean,
): string {
  if (kind === 'multiple-choice') {
    return 'multiple-choice question';
  }
  const quantities = `${facts.quantities} quantities`;
  return isPremium
    ? `multi-step maths word problem (${quantities})`
    : `simple maths word problem (${quantities})`;
}

/** Whether a group's features must be present in the question for a reason. */
type Presence = 'present' | 'absent' | 'either';

/**
 * Hand features grouped under one reason, with its wording both ways. A
 * contribution is measured against the training mean, so a feature that is
 * absent can push the score too. The presence fields keep a reason from
 * naming something the question lacks, such as "formulas or code in the
 * question" for a law question without formulas.
 */
interface ReasonGroup {
  features: readonly HandFeatureName[];
  /** Null when the group never gives a reason in this direction. */
  towardPremium: ((facts: QuestionFacts) => string) | null;
  towardCheap: ((facts: QuestionFacts) => string) | null;
  /** Some feature of the group is nonzero ('present') or none is ('absent'). */
  premiumNeeds: Presence;
  cheapNeeds: Presence;
  /**
   * Tells whether the group is present, when "some feature is nonzero" is
   * too loose: the codeSigns feature also fires on prose such as "in
   * return for".
   */
  isPresent?: (
    facts: QuestionFacts,
    value: (name: HandFeatureName) => number,
  ) => boolean;
}

const REASON_GROUPS: readonly ReasonGroup[] = [
  {
    features: [
      'logLength',
      'logLengthSquared',
      'logWords',
      'logStemLength',
      'logSentences',
    ],
    towardPremium: (facts) => `long question (${facts.words} words)`,
    towardCheap: (facts) => `short question (${facts.words} words)`,
    premiumNeeds: 'either',
    cheapNeeds: 'either',
  },
  {
    features: [
      'logNumbers',
      'logDistinctNumbers',
      'logMaxNumber',
      'logStemNumbers',
    ],
    towardPremium: (facts) =>
      `many or large numbers to track (${facts.numbers.length})`,
    towardCheap: () => 'few numbers to track',
    premiumNeeds: 'present',
    cheapNeeds: 'either',
  },
  {
    features: [
      'numberWords',
      'comparisons',
      'units',
      'distinctUnits',
      'aggregates',
      'conditions',
      'percent',
      'slashFraction',
      'decimal',
      'questionMarks',
      'calculationRequest',
      'scienceUnits',
    ],
    towardPremium: () => 'several reasoning steps (ratios, units, conditions)',
    towardCheap: () => 'few reasoning steps',
    premiumNeeds: 'present',
    cheapNeeds: 'either',
  },
  {
    features: ['money'],
    towardPremium: null,
    towardCheap: () => 'plain money arithmetic',
    premiumNeeds: 'either',
    cheapNeeds: 'present',
  },
  {
    features: ['mathsNotation', 'mathsSymbols', 'stemEquation', 'codeSigns'],
    towardPremium: () => 'formulas or code in the question',
    towardCheap: () => 'no formulas or code',
    premiumNeeds: 'present',
    cheapNeeds: 'absent',
    isPresent: (facts, value) =>
      value('mathsNotation') !== 0 ||
      value('mathsSymbols') !== 0 ||
      value('stemEquation') !== 0 ||
      looksLikeCode(facts.text),
  },
  {
    features: [
      'negation',
      'statementPair',
      'scenarioPair',
      'romanNumerals',
      'allOrNoneOfTheAbove',
      'whichOfTheFollowing',
      'stemEndsMidSentence',
      'stemEndsWithColon',
      'fillInTheBlank',
      'referencedPassage',
    ],
    towardPremium: () =>
      'tricky format (negation, paired statements, combined options or a sentence to complete)',
    towardCheap: () => 'plain question format',
    premiumNeeds: 'present',
    cheapNeeds: 'absent',
  },
  {
    features: [
      'meanWordLength',
      'longWordShare',
      'capitalizedShare',
      'quotation',
      'firstPerson',
      'year',
    ],
    towardPremium: () => 'wording with many long words or names',
    towardCheap: () => 'plain wording',
    premiumNeeds: 'either',
    cheapNeeds: 'either',
  },
  {
    features: [
      'logMeanOptionLength',
      'logMaxOptionLength',
      'numericOptionShare',
      'optionsWithDigitsShare',
      'optionsShareFirstWord',
      'optionsWithBecauseShare',
    ],
    towardPremium: () => 'long, numeric or argued answer options',
    towardCheap: () => 'short answer options',
    premiumNeeds: 'either',
    cheapNeeds: 'either',
  },
];

/**
 * Names the groups of features that pushed the score most in the direction
 * of the decision, strongest first, including the hashed words as a group.
 */
function describeContributions(
  output: KindModelOutput,
  facts: QuestionFacts,
  handFeatures: readonly number[],
  isPremium: boolean,
): string[] {
  const direction = isPremium ? 1 : -1;
  const candidates: Array<{
    weight: number;
    describe: (facts: QuestionFacts) => string;
  }> = [];
  for (const group of REASON_GROUPS) {
    const describe = isPremium ? group.towardPremium : group.towardCheap;
    const needs = isPremium ? group.premiumNeeds : group.cheapNeeds;
    const value = (name: HandFeatureName) =>
      handFeatures[HAND_FEATURE_NAMES.indexOf(name)] ?? 0;
    const isPresent =
      group.isPresent?.(facts, value) ??
      group.features.some((feature) => value(feature) !== 0);
    if (
      describe === null ||
      (needs === 'present' && !isPresent) ||
      (needs === 'absent' && isPresent)
    ) {
      continue;
    }
    candidates.push({
      weight: group.features.reduce(
        (sum, feature) => sum + output.contributions[feature],
        0,
      ),
      describe,
    });
  }
  candidates.push({
    weight: output.wordContribution,
    describe: () =>
      isPremium
        ? 'topic words the cheap model often gets wrong'
        : 'topic words the cheap model usually handles',
  });

  return candidates
    .filter(
      (candidate) => candidate.weight * direction > REASON_MIN_CONTRIBUTION,
    )
    .sort((left, right) => (right.weight - left.weight) * direction)
    .slice(0, MAX_MODEL_REASONS)
    .map((candidate) => candidate.describe(facts));
}

/** Keeps a score inside (0, 1), so its logit stays finite. */
function clampScore(score: number): number {
  if (!Number.isFinite(score)) {
    return 0.5;
  }
  return Math.min(1 - 1e-6, Math.max(1e-6, score));
}
