/**
 * The router: a pure function that decides whether a question goes to the
 * cheap or the premium tier, with a score and the reasons behind it.
 */
import type { ChatMessage, PageContext, RouteDecision } from './protocol';

export interface RouteInput {
  question: string;
  history?: readonly ChatMessage[];
  pageContext?: PageContext;
}

/** Score at or above which a question goes to the premium tier. */
export const DEFAULT_PREMIUM_THRESHOLD = 0.5;

const HARD_PATTERNS: ReadonlyArray<[RegExp, string]> = [
  [/\b(prove|proof|derive|theorem)\b/i, 'asks for a proof or derivation'],
  [/\b(implement|refactor|debug|algorithm|complexity)\b/i, 'asks for code'],
  [/```|\bfunction\b|\bclass\b|=>/, 'contains code'],
  [/\b(step by step|analy[sz]e|compare|trade-?offs?)\b/i, 'asks for analysis'],
];

/**
 * Routes a question to a tier. Returns a score between 0 and 1 (higher means
 * more likely to need premium) and human-readable reasons.
 */
export function routeQuestion(
  input: RouteInput,
  threshold = DEFAULT_PREMIUM_THRESHOLD,
): RouteDecision {
  const reasons: string[] = [];
  let score = Math.min(input.question.length / 2_000, 0.3);

  for (const [pattern, reason] of HARD_PATTERNS) {
    if (pattern.test(input.question)) {
      score += 0.3;
      reasons.push(reason);
    }
  }
  score = Math.min(score, 1);
  if (reasons.length === 0) {
    reasons.push('short, general question');
  }
  return {
    tier: score >= threshold ? 'premium' : 'cheap',
    score,
    reasons,
  };
}
