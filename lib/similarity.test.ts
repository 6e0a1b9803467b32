import { describe, expect, it } from 'vitest';
import {
  isSimilarQuestion,
  scoreQuestionSimilarity,
  SIMILARITY_THRESHOLD,
} from './similarity';

describe('isSimilarQuestion', () => {
  it.each([
    ['What is the capital of France?', 'what is the capital of france'],
    ['How do I reset my password?', 'How can I reset my password'],
    ['My card has not arrived yet', 'My card still has not arrived.'],
    [
      'How long does a transfer take to arrive?',
      'How long does a transfer usually take to arrive?',
    ],
    [
      'Why was I charged a fee for my transfer?',
      'Why was I charged a transfer fee?',
    ],
    ['Can I top up with Apple Pay?', 'can i top up using apple pay'],
    [
      'What is the exchange rate for euros?',
      'What exchange rate do you use for euros?',
    ],
  ])('matches %j and %j', (a, b) => {
    expect(isSimilarQuestion(a, b)).toBe(true);
  });

  it.each([
    ['numbers', 'What is 12 times 7?', 'What is 12 times 8?'],
    [
      'number words',
      'I was charged twice for one purchase',
      'I was charged three times for one purchase',
    ],
    [
      'a year',
      'Who won the World Cup in 2018?',
      'Who won the World Cup in 2022?',
    ],
    [
      'an amount',
      'Why was I charged $5 for my transfer?',
      'Why was I charged $50 for my transfer?',
    ],
    [
      'a negation',
      'Is the card accepted in shops?',
      'Is the card not accepted in shops?',
    ],
    [
      'a contracted negation',
      'Why does my card work abroad?',
      "Why doesn't my card work abroad?",
    ],
    [
      'a country',
      'Can I use my card in Spain?',
      'Can I use my card in France?',
    ],
    ['a currency', 'How do I exchange dollars?', 'How do I exchange euros?'],
    [
      'a card network',
      'Do you accept Visa cards?',
      'Do you accept Mastercard cards?',
    ],
    ['a person', 'When was Marie Curie born?', 'When was Pierre Curie born?'],
    ['an acronym', 'What does the IMF do?', 'What does the WHO do?'],
  ])('keeps apart %s', (_case, a, b) => {
    expect(isSimilarQuestion(a, b)).toBe(false);
    expect(scoreQuestionSimilarity(a, b)).toBeLessThan(SIMILARITY_THRESHOLD);
  });

  it.each([
    ['How do I reset my password?', 'What is the capital of France?'],
    ['My card has not arrived yet', 'How do I close my account?'],
  ])('rejects unrelated %j and %j', (a, b) => {
    expect(isSimilarQuestion(a, b)).toBe(false);
  });
});

describe('scoreQuestionSimilarity', () => {
  it('scores identical questions 1', () => {
    expect(scoreQuestionSimilarity('Hello there?', 'hello   there')).toBe(1);
  });

  it('is symmetric', () => {
    const a = 'Why was my top up declined?';
    const b = 'My top-up was declined, why?';
    expect(scoreQuestionSimilarity(a, b)).toBe(scoreQuestionSimilarity(b, a));
  });

  it('stays between 0 and 1', () => {
    for (const [a, b] of [
      ['', ''],
      ['?', 'a'],
      ['one', 'two three four'],
    ] as const) {
      const score = scoreQuestionSimilarity(a, b);
      expect(score).toBeGreaterThanOrEqual(0);
      expect(score).toBeLessThanOrEqual(1);
    }
  });

  it('keeps the threshold above guarded scores', () => {
    expect(SIMILARITY_THRESHOLD).toBeGreaterThan(0.5);
  });
});
