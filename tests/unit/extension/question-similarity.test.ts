import { describe, expect, it } from 'vitest';
import { questionSimilarity } from '../../../lib/extension/question-similarity';
import { isSimilarQuestion } from '../../../lib/similarity';

describe('questionSimilarity', () => {
  it.each([
    ['How do I reset my card PIN?', 'How can I reset the PIN of my card?'],
    ['What is the capital of France?', 'What is the capital of Germany?'],
    ['Why was my transfer declined?', 'What is the weather in Paris?'],
  ])('agrees with isSimilarQuestion on "%s"', (a, b) => {
    const score = questionSimilarity.score(a, b);
    expect(score).toBeGreaterThanOrEqual(0);
    expect(score).toBeLessThanOrEqual(1);
    expect(questionSimilarity.isSimilar(score)).toBe(isSimilarQuestion(a, b));
  });
});
