import { describe, expect, it } from 'vitest';
import {
  classifyPrompt,
  collectQuestionFacts,
  computeHandFeatures,
  HAND_FEATURE_NAMES,
  type HandFeatureName,
  hashWordBuckets,
  WORD_BUCKETS,
} from './router-features';

function featureOf(question: string, name: HandFeatureName): number {
  const values = computeHandFeatures(collectQuestionFacts(question));
  return values[HAND_FEATURE_NAMES.indexOf(name)]!;
}

const OPTIONS = '\nA. one\nB. two\nC. three\nD. four\nAnswer:';

// [feature, a question that sets it, a question that leaves it at 0]
const FEATURE_CASES: ReadonlyArray<[HandFeatureName, string, string]> = [
  [
    'stemEndsMidSentence',
    `The capital of Peru is${OPTIONS}`,
    `What is the capital of Peru?${OPTIONS}`,
  ],
  [
    'stemEndsWithColon',
    `Pick the prime number:${OPTIONS}`,
    `Which number is prime?${OPTIONS}`,
  ],
  [
    'year',
    `What happened in 1848?${OPTIONS}`,
    `What happened in 848?${OPTIONS}`,
  ],
  [
    'optionsWithDigitsShare',
    'What is 2 + 2?\nA. 3\nB. 4\nC. 5\nD. 6\nAnswer:',
    `What is two plus two?${OPTIONS}`,
  ],
  [
    'mathsSymbols',
    `Evaluate √16 + π.${OPTIONS}`,
    `Evaluate four plus pi.${OPTIONS}`,
  ],
  [
    'calculationRequest',
    `Calculate the mass of the block.${OPTIONS}`,
    `Name the block.${OPTIONS}`,
  ],
  [
    'referencedPassage',
    `This question refers to the following information. A letter.${OPTIONS}`,
    `A letter was sent.${OPTIONS}`,
  ],
  [
    'scienceUnits',
    `A 5 kg block moves at 3 m/s. Find its energy.${OPTIONS}`,
    `A heavy block moves. Find its energy.${OPTIONS}`,
  ],
  [
    'fillInTheBlank',
    `The ____ is the powerhouse of the cell.${OPTIONS}`,
    `What is the powerhouse of the cell?${OPTIONS}`,
  ],
  [
    'stemEquation',
    `If x = 3, what is 2x?${OPTIONS}`,
    `If x is 3, what is 2x?${OPTIONS}`,
  ],
  [
    'optionsShareFirstWord',
    'Will the court void the deed?\nA. No, because it was signed.\nB. No, because deeds are valid.\nC. Yes, because he was senile.\nD. Yes, because no price was paid.\nAnswer:',
    `Will the court void the deed?${OPTIONS}`,
  ],
  [
    'optionsWithBecauseShare',
    'Will the court void the deed?\nA. No, because it was signed.\nB. No.\nC. Yes.\nD. Maybe.\nAnswer:',
    `Will the court void the deed?${OPTIONS}`,
  ],
];

describe('computeHandFeatures', () => {
  it('returns one finite value per feature name', () => {
    const values = computeHandFeatures(
      collectQuestionFacts(`Which is largest?${OPTIONS}`),
    );

    expect(values).toHaveLength(HAND_FEATURE_NAMES.length);
    expect(values.every((value) => Number.isFinite(value))).toBe(true);
  });

  it.each(FEATURE_CASES)('sets %s', (name, matching, other) => {
    expect(featureOf(matching, name)).toBeGreaterThan(0);
    expect(featureOf(other, name)).toBe(0);
  });

  it('counts digit options as a share of four', () => {
    const question = 'Pick one.\nA. 1\nB. 2\nC. red\nD. blue\nAnswer:';

    expect(featureOf(question, 'optionsWithDigitsShare')).toBe(0.5);
  });

  it('reads only the stem for stem numbers', () => {
    const question = 'Pick the smallest.\nA. 1\nB. 2\nC. 3\nD. 4\nAnswer:';

    expect(featureOf(question, 'logStemNumbers')).toBe(0);
  });
});

describe('classifyPrompt', () => {
  it.each([
    [`Which planet is the largest?${OPTIONS}`, 'multiple-choice'],
    [
      'Sam has 3 apples and buys 4 more at $2 each. How many apples does Sam have now?',
      'maths-word-problem',
    ],
    ['implement a sieve in TypeScript', 'general'],
    [
      'Prove that the sum of 2 odd numbers and 3 even numbers is even.',
      'general',
    ],
  ])('classifies %j', (question, kind) => {
    expect(classifyPrompt(collectQuestionFacts(question))).toBe(kind);
  });
});

describe('hashWordBuckets', () => {
  it('returns sorted distinct buckets inside the table', () => {
    const buckets = hashWordBuckets('the cat and the hat and the bat');

    expect(buckets).toEqual([...new Set(buckets)].sort((a, b) => a - b));
    expect(buckets).toHaveLength(5);
    expect(
      buckets.every((bucket) => bucket >= 0 && bucket < WORD_BUCKETS),
    ).toBe(true);
  });
});
