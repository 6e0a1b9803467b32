/** The shared question similarity, as the background's near-duplicate offers use it. */
import { SIMILARITY_THRESHOLD, scoreQuestionSimilarity } from '../similarity';
import type { QuestionSimilarity } from './answer-question';

/** Scores with `scoreQuestionSimilarity` and accepts at SIMILARITY_THRESHOLD. */
export const questionSimilarity: QuestionSimilarity = {
  score: scoreQuestionSimilarity,
  isSimilar: (score) => score >= SIMILARITY_THRESHOLD,
};
