/** The background's preview of a draft question: its route and token estimate. */
import type { ChatMessage } from '../protocol';
import { routeQuestion } from '../router';
import { countChatTokens } from '../tokens';
import type { QuestionPreview } from './runtime-messages';

/**
 * Routes a draft question with the shared router and estimates its input
 * tokens with the history. The backend decides the final route and counts
 * the tokens it charges, with its system prompt added.
 */
export function previewQuestion(
  question: string,
  history: readonly ChatMessage[],
): QuestionPreview {
  const decision = routeQuestion({ question, history });
  const inputTokens = countChatTokens([
    ...history,
    { role: 'user', content: question },
  ]);
  return {
    type: 'question-preview',
    tier: decision.tier,
    score: decision.score,
    reasons: decision.reasons,
    inputTokens,
  };
}
