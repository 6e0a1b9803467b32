/**
 * The context budget of a request: how many tokens may go with a question
 * besides the question itself (the system prompt, earlier turns and page
 * context), and how a prompt is laid out within it. Pure functions, so the
 * backend enforces and bills exactly what the extension previews.
 *
 * The layout starts with the system prompt. The running summary of older
 * turns opens the first message sent, the most recent turns follow whole,
 * and one user message with the chosen page passages and the question
 * comes last.
 */
import {
  formatPageBlock,
  PAGE_BLOCK_SUFFIX,
  selectPassages,
  splitPassages,
  type PassageSelection,
} from './passages';
import type { ChatMessage, ContextReport, PageContext, Tier } from './protocol';
import { SYSTEM_PROMPT } from './system-prompt';
import {
  countChatTokens,
  countTokens,
  MESSAGE_OVERHEAD_TOKENS,
} from './tokens';

/** Token limits of one tier. */
export interface ContextBudget {
  /** Tokens for everything sent besides the question. */
  contextTokens: number;
  /** Output cap sent to the provider as max_tokens. */
  maxOutputTokens: number;
}

/** The budgets a backend uses unless it is configured otherwise. */
export const DEFAULT_CONTEXT_BUDGETS: Readonly<Record<Tier, ContextBudget>> = {
  cheap: { contextTokens: 3_000, maxOutputTokens: 1_024 },
  premium: { contextTokens: 8_000, maxOutputTokens: 1_024 },
};

/** Smallest context budget: the system prompt, a summary and a short turn. */
export const MIN_CONTEXT_TOKENS = 512;

/** Earlier turns sent whole by default; older ones are summarized. */
export const DEFAULT_RECENT_TURNS = 2;

/** Largest running summary, in tokens; also the summary call's output cap. */
export const SUMMARY_MAX_TOKENS = 256;

/**
 * Minimum tokens of older turns folded into the summary at once. A summary
 * call costs about its previous summary plus the new turns in input and up
 * to SUMMARY_MAX_TOKENS in output, which a single short turn rarely repays.
 */
export const FOLD_BLOCK_TOKENS = 600;

/** Share of the budget left for earlier turns when a page comes with the question. */
export const HISTORY_SHARE_WITH_PAGE = 0.5;

/** Characters counted at once by countTokensWithin. */
const COUNT_PIECE_CHARS = 4_000;

/** Tokens of the system message: its text and the message overhead. */
export const SYSTEM_MESSAGE_TOKENS =
  MESSAGE_OVERHEAD_TOKENS + countTokens(SYSTEM_PROMPT);

/**
 * Counts a text's tokens in pieces of about COUNT_PIECE_CHARS and stops
 * once the count passes `limit`, so an over-long text costs only the
 * pieces up to the limit. The result is exact for texts of one piece; for
 * longer ones it can exceed the exact count by about one token per piece.
 * Once it passes `limit`, it is a lower bound.
 */
export function countTokensWithin(text: string, limit: number): number {
  if (text.length <= COUNT_PIECE_CHARS) {
    return countTokens(text);
  }
  let total = 0;
  let start = 0;
  while (start < text.length && total <= limit) {
    let end = Math.min(text.length, start + COUNT_PIECE_CHARS);
    if (end < text.length) {
      const space = text.lastIndexOf(' ', end);
      if (space > start) {
        end = space;
      }
    }
    total += countTokens(text.slice(start, end));
    start = end;
  }
  return total;
}

/**
 * Cuts a text to at most `maxTokens` tokens, at a word boundary where one
 * is near, and returns the kept text and its exact token count. The cut
 * is found by binary search over the length, within the first
 * 16 × `maxTokens` characters.
 */
export function clipToTokens(
  text: string,
  maxTokens: number,
): { text: string; tokens: number } {
  const limit = Math.max(0, maxTokens);
  const candidate = text.slice(0, limit * 16);
  const candidateTokens = countTokens(candidate);
  if (candidateTokens <= limit) {
    return { text: candidate, tokens: candidateTokens };
  }

  // `low` characters fit and `high` do not.
  let low = 0;
  let high = candidate.length;
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (countTokens(candidate.slice(0, middle)) <= limit) {
      low = middle;
    } else {
      high = middle;
    }
  }

  let kept = candidate.slice(0, low);
  const code = kept.charCodeAt(kept.length - 1);
  if (code >= 0xd800 && code <= 0xdbff) {
    kept = kept.slice(0, -1);
  }
  const space = kept.lastIndexOf(' ');
  const atWord =
    space > kept.length - 80 && space > 0 ? kept.slice(0, space) : kept;
  const atWordTokens = countTokens(atWord);
  if (atWordTokens <= limit) {
    return { text: atWord, tokens: atWordTokens };
  }
  return { text: kept, tokens: countTokens(kept) };
}

/**
 * Groups a history into turns: each user message starts a turn, and the
 * messages after it up to the next user message belong to it.
 */
export function splitTurns(history: readonly ChatMessage[]): ChatMessage[][] {
  const turns: ChatMessage[][] = [];
  for (const message of history) {
    const current = turns.at(-1);
    if (message.role === 'user' || current === undefined) {
      turns.push([message]);
    } else {
      current.push(message);
    }
  }
  return turns;
}

/** The split of earlier turns into those sent whole and those folded. */
export interface HistoryPlan {
  /** Turns sent whole, oldest first. */
  recent: ChatMessage[];
  /** Older turns, to be folded into the running summary, oldest first. */
  folded: ChatMessage[];
  recentTurns: number;
  foldedTurns: number;
  /** Tokens of the recent messages, overhead included. */
  recentTokens: number;
}

/**
 * Plans the earlier turns within `allowanceTokens`. When every turn fits
 * and there are at most `recentTurns` of them, all go whole. Otherwise
 * SUMMARY_MAX_TOKENS is set aside for the summary, and the newest turns
 * go whole while there are at most `recentTurns` of them and they fit.
 * The turns before them are folded up to the last fold point (see
 * findFoldPoints), so the summary is rewritten once per block of older
 * turns rather than once per turn. Turns between the fold point and the
 * recent ones go whole when they fit too, else they are folded as well.
 * A turn larger than the allowance is always folded.
 */
export function planHistory(options: {
  history: readonly ChatMessage[];
  allowanceTokens: number;
  recentTurns?: number;
}): HistoryPlan {
  const turns = splitTurns(options.history);
  const recentTurns = options.recentTurns ?? DEFAULT_RECENT_TURNS;
  const allowance = Math.max(0, options.allowanceTokens);

  const whole = keepNewestTurns(turns, recentTurns, allowance);
  if (whole.count === turns.length) {
    return splitPlan(turns, 0, whole.tokens);
  }

  // The minimum number of turns to fold, with room set aside for the summary.
  const withSummary = keepNewestTurns(
    turns,
    recentTurns,
    Math.max(0, allowance - SUMMARY_MAX_TOKENS),
  );
  const fewest = turns.length - withSummary.count;
  const point = findFoldPoints(turns.slice(0, fewest)).at(-1) ?? 0;
  if (point < fewest) {
    const room = point === 0 ? allowance : allowance - SUMMARY_MAX_TOKENS;
    const tail = keepNewestTurns(turns, turns.length - point, room);
    if (tail.count === turns.length - point) {
      return splitPlan(turns, point, tail.tokens);
    }
  }
  return splitPlan(turns, fewest, withSummary.tokens);
}

function splitPlan(
  turns: readonly ChatMessage[][],
  foldedTurns: number,
  recentTokens: number,
): HistoryPlan {
  return {
    recent: turns.slice(foldedTurns).flat(),
    folded: turns.slice(0, foldedTurns).flat(),
    recentTurns: turns.length - foldedTurns,
    foldedTurns,
    recentTokens,
  };
}

/**
 * Returns the fold points of a history's turns: the turn counts at which
 * a block of at least FOLD_BLOCK_TOKENS ends, counting from the oldest
 * turn. A point depends only on the turns before it, so a longer
 * conversation keeps the points of its start, and each summary can extend
 * the one written at the point before it.
 */
export function findFoldPoints(turns: readonly ChatMessage[][]): number[] {
  const points: number[] = [];
  let block = 0;
  turns.forEach((turn, index) => {
    for (const message of turn) {
      block +=
        MESSAGE_OVERHEAD_TOKENS +
        countTokensWithin(message.content, FOLD_BLOCK_TOKENS);
    }
    if (block >= FOLD_BLOCK_TOKENS) {
      points.push(index + 1);
      block = 0;
    }
  });
  return points;
}

/** Counts how many of the newest turns fit, up to `maxTurns`, stopping early. */
function keepNewestTurns(
  turns: readonly ChatMessage[][],
  maxTurns: number,
  allowance: number,
): { count: number; tokens: number } {
  let count = 0;
  let tokens = 0;
  for (let index = turns.length - 1; index >= 0 && count < maxTurns; index--) {
    const turn = turns[index] as ChatMessage[];
    let cost = 0;
    for (const message of turn) {
      const left = allowance - tokens - cost;
      cost +=
        MESSAGE_OVERHEAD_TOKENS +
        countTokensWithin(message.content, Math.max(0, left));
      if (cost > allowance - tokens) {
        break;
      }
    }
    if (tokens + cost > allowance) {
      break;
    }
    tokens += cost;
    count++;
  }
  return { count, tokens };
}

/**
 * Plans the earlier turns of a request the way layoutPrompt does: within
 * the budget left after the system prompt, or half of it when a page
 * comes with the question.
 */
export function planPromptHistory(input: {
  history: readonly ChatMessage[];
  pageContext?: PageContext;
  contextTokens: number;
  recentTurns?: number;
}): HistoryPlan {
  const available = Math.max(0, input.contextTokens - SYSTEM_MESSAGE_TOKENS);
  return planHistory({
    history: input.history,
    allowanceTokens: input.pageContext
      ? Math.floor(available * HISTORY_SHARE_WITH_PAGE)
      : available,
    recentTurns: input.recentTurns,
  });
}

/** The running summary that stands for the folded turns. */
export type SummaryInput =
  /** The summary's text, at most SUMMARY_MAX_TOKENS. */
  | { kind: 'text'; text: string }
  /** For a preview: counted as SUMMARY_MAX_TOKENS, nothing is written. */
  | { kind: 'estimate' }
  /** No summary could be written: the folded turns are left out. */
  | { kind: 'failed' };

export interface PromptLayoutInput {
  question: string;
  history: readonly ChatMessage[];
  pageContext?: PageContext;
  contextTokens: number;
  recentTurns?: number;
  /** Stands for the folded turns; without it they are left out. */
  summary?: SummaryInput;
}

export interface PromptLayout {
  system: string;
  /** Recent turns, then the final user message with page and question. */
  messages: ChatMessage[];
  /** Input tokens of system plus messages, counted with lib/tokens. */
  inputTokens: number;
  report: ContextReport;
}

/**
 * Lays a prompt out within the context budget: plans the turns, spends
 * what they leave on page passages, writes the messages and counts them
 * exactly. When the exact count passes the budget (pieces joined count
 * slightly differently), it sends fewer passages, then fewer turns, so
 * the context never exceeds `contextTokens` unless the system prompt
 * alone does. The question is always sent whole.
 */
export function layoutPrompt(input: PromptLayoutInput): PromptLayout {
  const budget = input.contextTokens;
  const available = Math.max(0, budget - SYSTEM_MESSAGE_TOKENS);
  const plan = planPromptHistory(input);

  const summary = plan.foldedTurns > 0 ? input.summary : undefined;
  const summaryBlock =
    summary?.kind === 'text'
      ? formatSummaryBlock(summary.text, plan.foldedTurns)
      : undefined;
  const summaryTokens =
    summary?.kind === 'estimate'
      ? SUMMARY_MAX_TOKENS
      : summaryBlock === undefined
        ? 0
        : countTokens(`${summaryBlock}\n\n`);

  let recent = plan.recent;
  let droppedTurns = summaryTokens === 0 ? plan.foldedTurns : 0;
  let pageAllowance = available - plan.recentTokens - summaryTokens;
  const questionTokens = countChatTokens([
    { role: 'user', content: input.question },
  ]);

  for (;;) {
    const selection =
      input.pageContext && pageAllowance > 0
        ? selectPassages({
            question: input.question,
            page: input.pageContext,
            budgetTokens: pageAllowance,
          })
        : undefined;
    const messages = writeMessages({
      question: input.question,
      recent,
      summaryBlock,
      pageBlock: selection?.block,
    });
    const inputTokens =
      countChatTokens([
        { role: 'system', content: SYSTEM_PROMPT },
        ...messages,
      ]) + (summary?.kind === 'estimate' ? SUMMARY_MAX_TOKENS : 0);
    const sentTokens = inputTokens - questionTokens;
    const overshoot = sentTokens - budget;

    if (overshoot > 0 && selection !== undefined) {
      pageAllowance = selection.tokens - overshoot;
      continue;
    }
    if (overshoot > 0 && recent.length > 0) {
      const turns = splitTurns(recent);
      recent = turns.slice(1).flat();
      droppedTurns++;
      continue;
    }

    return {
      system: SYSTEM_PROMPT,
      messages,
      inputTokens,
      report: {
        budgetTokens: budget,
        sentTokens,
        questionTokens,
        recentTurns: splitTurns(recent).length,
        summarizedTurns: summaryTokens > 0 ? plan.foldedTurns : 0,
        droppedTurns,
        summaryTokens,
        page: input.pageContext
          ? describePage(input.pageContext, selection)
          : undefined,
      },
    };
  }
}

function describePage(
  page: PageContext,
  selection: PassageSelection | undefined,
): NonNullable<ContextReport['page']> {
  if (selection) {
    return {
      sentPassages: selection.sentIndexes.length,
      totalPassages: selection.totalPassages,
      sentTokens: selection.tokens,
      omittedChars: selection.omittedChars,
      totalChars: selection.totalChars,
    };
  }
  return {
    sentPassages: 0,
    totalPassages: splitPassages(page.text).length,
    sentTokens: 0,
    omittedChars: page.text.length,
    totalChars: page.text.length,
  };
}

/**
 * Writes the messages: the summary block at the start of the first one,
 * the recent turns, and the final message with the page block before the
 * question.
 */
function writeMessages(parts: {
  question: string;
  recent: readonly ChatMessage[];
  summaryBlock: string | undefined;
  pageBlock: string | undefined;
}): ChatMessage[] {
  const finalMessage: ChatMessage = {
    role: 'user',
    content:
      parts.pageBlock === undefined
        ? parts.question
        : `${parts.pageBlock}${PAGE_BLOCK_SUFFIX}${parts.question}`,
  };
  const messages = [...parts.recent, finalMessage];
  if (parts.summaryBlock !== undefined) {
    const first = messages[0] as ChatMessage;
    messages[0] = {
      role: first.role,
      content: `${parts.summaryBlock}\n\n${first.content}`,
    };
  }
  return messages;
}

/**
 * Writes the <summary> block. Closing tags inside the summary are broken
 * up, so its text cannot end the block early.
 */
export function formatSummaryBlock(text: string, turns: number): string {
  const escaped = text.replace(/<\/summary/gi, '<\\/summary');
  return `<summary turns="${turns}">\n${escaped}\n</summary>`;
}

/**
 * Lays out the prompt that sends everything whole (every turn and the
 * whole page), the way requests went before the budget; for comparisons.
 */
export function layoutWholePrompt(input: {
  question: string;
  history: readonly ChatMessage[];
  pageContext?: PageContext;
}): { messages: ChatMessage[]; inputTokens: number } {
  const page = input.pageContext;
  const pageBlock = page
    ? formatPageBlock(page, [{ index: 0, text: page.text }])
    : undefined;
  const messages = writeMessages({
    question: input.question,
    recent: input.history,
    summaryBlock: undefined,
    pageBlock,
  });
  return {
    messages,
    inputTokens: countChatTokens([
      { role: 'system', content: SYSTEM_PROMPT },
      ...messages,
    ]),
  };
}
