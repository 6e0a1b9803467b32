/**
 * The prompt the backend sends to a provider, laid out within the tier's
 * context budget (lib/context-budget.ts): a fixed system prompt first, so
 * provider prompt caches hit, then the running summary and the most recent
 * turns, then one user message with the chosen page passages quoted as
 * data and the question.
 */
import {
  DEFAULT_CONTEXT_BUDGETS,
  layoutPrompt,
  type SummaryInput,
} from '../lib/context-budget';
import type { ChatMessage, ContextReport, PageContext } from '../lib/protocol';

export {
  QUESTION_HEADING,
  SYSTEM_PROMPT,
  SYSTEM_PROMPT_VERSION,
} from '../lib/system-prompt';

export interface PromptInput {
  question: string;
  history: readonly ChatMessage[];
  pageContext?: PageContext;
  /**
   * Tokens for everything besides the question; the cheap tier's default
   * budget when omitted.
   */
  contextTokens?: number;
  /** Earlier turns sent whole; older ones are summarized. */
  recentTurns?: number;
  /** The running summary of the older turns, or why there is none. */
  summary?: SummaryInput;
}

export interface Prompt {
  system: string;
  /** Recent turns, then the question as the last user message. */
  messages: ChatMessage[];
  /** Input tokens of system plus messages, counted with lib/tokens. */
  inputTokens: number;
  /** What went besides the question, and what was left out. */
  context: ContextReport;
}

/**
 * Builds the prompt for a chat request and counts its input tokens over
 * exactly the system prompt and messages that the provider receives.
 * Every piece is counted within its share of the budget, so a request of
 * several hundred thousand characters costs no more counting than one
 * that fits.
 */
export function buildPrompt(input: PromptInput): Prompt {
  const layout = layoutPrompt({
    question: input.question,
    history: input.history,
    pageContext: input.pageContext,
    contextTokens:
      input.contextTokens ?? DEFAULT_CONTEXT_BUDGETS.cheap.contextTokens,
    recentTurns: input.recentTurns,
    summary: input.summary,
  });
  return {
    system: layout.system,
    messages: layout.messages,
    inputTokens: layout.inputTokens,
    context: layout.report,
  };
}
