/**
 * The background's preview of a draft question: its route, and the
 * context that would go with it within the tier's budget.
 */
import { DEFAULT_CONTEXT_BUDGETS, layoutPrompt } from '../context-budget';
import type { ChatMessage, PageContext, RequestedTier } from '../protocol';
import { routeQuestion } from '../router';
import type { QuestionPreview } from './runtime-messages';

/**
 * Routes a draft question with the shared router and lays its prompt out
 * as the backend would, with the summary of older turns counted at its
 * largest. The backend decides the final route and counts the tokens it
 * charges.
 *
 * NOTE: the estimate uses the default budgets and recent-turn count; a
 * backend configured otherwise reports its own figures on the answer.
 */
export function previewQuestion(
  question: string,
  history: readonly ChatMessage[],
  options: { pageContext?: PageContext; tier?: RequestedTier } = {},
): QuestionPreview {
  const decision = routeQuestion({
    question,
    history,
    pageContext: options.pageContext,
  });
  const tier =
    options.tier === undefined || options.tier === 'auto'
      ? decision.tier
      : options.tier;
  const layout = layoutPrompt({
    question,
    history,
    pageContext: options.pageContext,
    contextTokens: DEFAULT_CONTEXT_BUDGETS[tier].contextTokens,
    summary: { kind: 'estimate' },
  });
  return {
    type: 'question-preview',
    tier: decision.tier,
    score: decision.score,
    reasons: decision.reasons,
    inputTokens: layout.inputTokens,
    context: layout.report,
  };
}
