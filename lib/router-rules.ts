/**
 * Hand-written rules for the prompts that the trained models do not cover:
 * chat questions that are neither multiple-choice questions nor maths word
 * problems, and the conversation and page context around any question.
 * Each rule that matches adds its weight to a logit and gives a reason.
 */
import type { ChatMessage, PageContext } from './protocol';
import {
  looksLikeCode,
  MAX_ANALYZED_CHARS,
  type QuestionFacts,
} from './router-features';

interface Rule {
  /** Added to the logit when the rule matches. */
  weight: number;
  reason: string;
  matches: (facts: QuestionFacts) => boolean;
}

/** Reason of a general question that no rule matches. */
export const PLAIN_QUESTION_REASON = 'short, general question';

/** Logit of a general question that no rule matches: cheap, about 0.27. */
const GENERAL_BIAS = -1;

/** Words above which a general question counts as long. */
const LONG_QUESTION_WORDS = 150;
const VERY_LONG_QUESTION_WORDS = 400;

const GREETING =
  /^\W*(?:hi|hello|hey|good (?:morning|afternoon|evening)|thanks|thank you|ok(?:ay)?|bye|goodbye|how are you)\b[\s\W\w]{0,40}$/i;
const TRANSLATION =
  /\b(?:translate|translation|how do (?:you|I) say|in (?:french|spanish|german|italian|japanese|chinese|english|portuguese|russian|arabic|korean|dutch))\b/i;
const SIMPLE_FACT =
  /^\W*(?:what is|what's|who (?:is|was|wrote)|when (?:is|was|did)|where is|define|what does .{1,40} mean)\b/i;

/**
 * Programming languages, as a regex source. Words that are common in
 * prose (Swift, Julia, React, Dart) are left out. The lookarounds stand in
 * for \b, which fails after "C++" and "C#".
 */
const PROGRAMMING_LANGUAGE =
  '(?<![\\w+#])(?:typescript|javascript|python|rust|golang|java|kotlin|c\\+\\+|c#|ruby|php|scala|haskell|sql|bash|shell script|powershell|lua|perl|elixir|node\\.?js|html|css)(?![\\w+#])';
/** Verbs that ask for code when a code noun follows ("fix the bug"). */
const CODE_VERB =
  '\\b(?:write|implement|code|debug|fix|refactor|optimi[sz]e|review)\\b';
/** Verbs that ask for code when a language follows ("build X in Rust"). */
const BUILD_VERB =
  '\\b(?:write|implement|code|program|debug|fix|refactor|optimi[sz]e|review|build|create|make|generate|port|convert|rewrite|translate)\\b';
const CODE_NOUN =
  '\\b(?:code|function|method|class|script|program|query|regex|api|bug|test|component|algorithm|endpoint|parser|module|data structure|linked list|binary (?:search|tree)|hash ?map)s?\\b';

/**
 * Patterns of a request for code, one per shape: a verb and a code noun
 * ("fix the bug"), a verb and a language ("implement a sieve in
 * TypeScript", "port this to C#"), a language and a code noun ("a Kotlin
 * implementation"), and a how-to question about a language ("How do I
 * reverse a list in Python?").
 */
const CODE_REQUESTS: readonly RegExp[] = [
  new RegExp(`${CODE_VERB}[^.?!\\n]{0,60}${CODE_NOUN}`, 'i'),
  new RegExp(
    `${BUILD_VERB}[^.?!\\n]{0,80}\\b(?:in|into|to|using|with)\\s+${PROGRAMMING_LANGUAGE}`,
    'i',
  ),
  new RegExp(
    `${PROGRAMMING_LANGUAGE}[^.?!\\n]{0,40}\\b(?:function|script|program|code|query|class|implementation|snippet|version|port)s?\\b`,
    'i',
  ),
  new RegExp(
    `\\bhow (?:do|can|would|should) (?:i|you|we)\\b[^.?!\\n]{0,80}\\b(?:in|using|with)\\s+${PROGRAMMING_LANGUAGE}`,
    'i',
  ),
];

const PROOF = /\b(?:prove|proof|derive|derivation|theorem|lemma|show that)\b/i;
const MATHS_WORK =
  /\b(?:solve|integral|integrate|derivative|differentiate|equation|probability|expected value|eigen\w*|matrix|limit of|optimi[sz]ation|calculate|compute)\b|[=^]\s*-?\w/i;
const ANALYSIS =
  /\b(?:analy[sz]e|analysis|compare|comparison|evaluate|critique|trade-?offs?|pros and cons|design|architecture|strategy|essay|in depth|in detail|step by step|explain why|assess)\b/i;

const QUESTION_RULES: readonly Rule[] = [
  {
    weight: -3,
    reason: 'greeting or small talk',
    matches: (facts) => facts.words <= 12 && GREETING.test(facts.text),
  },
  {
    weight: -2,
    reason: 'translation',
    matches: (facts) => facts.words <= 120 && TRANSLATION.test(facts.text),
  },
  {
    weight: -1,
    reason: 'short factual question',
    matches: (facts) =>
      facts.words <= 20 &&
      SIMPLE_FACT.test(facts.text) &&
      !MATHS_WORK.test(facts.text),
  },
  {
    weight: 3,
    reason: 'contains code',
    matches: (facts) => looksLikeCode(facts.text),
  },
  {
    weight: 3,
    reason: 'asks for code',
    matches: (facts) =>
      CODE_REQUESTS.some((pattern) => pattern.test(facts.text)),
  },
  {
    weight: 3.5,
    reason: 'asks for a proof or derivation',
    matches: (facts) => PROOF.test(facts.text),
  },
  {
    weight: 2.5,
    reason: 'multi-step maths problem',
    matches: (facts) =>
      MATHS_WORK.test(facts.text) &&
      (facts.numbers.length >= 2 || /[=^]/.test(facts.text)),
  },
  {
    weight: 2.5,
    reason: 'asks for analysis',
    matches: (facts) => ANALYSIS.test(facts.text),
  },
  {
    weight: 1.5,
    reason: 'long question',
    matches: (facts) => facts.words > LONG_QUESTION_WORDS,
  },
  {
    weight: 1.5,
    reason: 'very long question',
    matches: (facts) => facts.words > VERY_LONG_QUESTION_WORDS,
  },
];

export interface RuleAssessment {
  /** Sum of the weights of the matched rules, plus the bias for questions. */
  logit: number;
  /** Reasons of the matched rules, strongest first. */
  reasons: string[];
}

/** Scores a general question with the question rules. */
export function assessGeneralQuestion(facts: QuestionFacts): RuleAssessment {
  // A hard signal outweighs an easy one: "Hi, prove that ..." is a proof
  // and "translate this Python to Rust" is code, so when any rule raises
  // the score, the rules that lower it are dropped.
  const all = QUESTION_RULES.filter((rule) => rule.matches(facts));
  const matched = all.some((rule) => rule.weight > 0)
    ? all.filter((rule) => rule.weight > 0)
    : all;
  const reasons = [...matched]
    .sort((left, right) => Math.abs(right.weight) - Math.abs(left.weight))
    .map((rule) => rule.reason);

  // "long" and "very long" both match a very long question; keep one.
  const longest = reasons.includes('very long question')
    ? reasons.filter((reason) => reason !== 'long question')
    : reasons;
  return {
    logit: GENERAL_BIAS + matched.reduce((sum, rule) => sum + rule.weight, 0),
    reasons: longest.length > 0 ? longest : [PLAIN_QUESTION_REASON],
  };
}

/** Earlier turns, counted back from the question, searched for code. */
const RECENT_TURNS_SEARCHED_FOR_CODE = 4;

/** Characters of earlier turns above which a conversation counts as long. */
const LONG_HISTORY_CHARS = 12_000;

/** Scores the conversation and page context of a question. */
export function assessContext(
  history: readonly ChatMessage[],
  pageContext: PageContext | undefined,
  question: QuestionFacts,
): RuleAssessment {
  let logit = 0;
  const reasons: string[] = [];
  const historyChars = history.reduce(
    (sum, message) => sum + message.content.length,
    0,
  );

  if (historyChars > LONG_HISTORY_CHARS) {
    logit += 1;
    reasons.push('follows a long conversation');
  }
  // Only the latest turns, cut to MAX_ANALYZED_CHARS, are searched for
  // code, so a long conversation does not slow the decision down.
  const recentTurns = history
    .slice(-RECENT_TURNS_SEARCHED_FOR_CODE)
    .map((message) => message.content.slice(0, MAX_ANALYZED_CHARS));
  if (question.words <= 60 && recentTurns.some(looksLikeCode)) {
    logit += 1.5;
    reasons.push('follows up on code in the conversation');
  }
  if (
    pageContext !== undefined &&
    pageContext.text.length > 0 &&
    ANALYSIS.test(question.text)
  ) {
    logit += 1;
    reasons.push('asks for analysis of the page');
  }
  return { logit, reasons };
}
