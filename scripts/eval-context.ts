/**
 * Measures what the context budget saves on input tokens, offline:
 *
 * - a 20-turn conversation whose questions are Arena-Hard prompts, sent
 *   once the way requests went before the budget, with every earlier turn
 *   resent whole. It is sent again within the cheap tier's budget, where
 *   older turns are folded into a running summary whose own calls count;
 * - a question about the last paragraph of a long article made of
 *   Arena-Hard prompts, sent with the whole page, with its first 6,000
 *   tokens (how the extension cut pages before), and within the budget.
 *
 * Prompts are laid out and counted by the backend's own code
 * (server/prompt.ts, server/context/summary-request.ts). No model is
 * called: the data has no answers, so each answer is a stand-in of
 * --answer-tokens tokens taken from other prompts of the data set, and
 * the running summary comes from a deterministic local summarizer (the
 * first sentence of each folded message, newest kept) cut to
 * SUMMARY_MAX_TOKENS, the cap a real summary call gets.
 *
 * Usage: npm run eval:context -- [--data FILE] [--answer-tokens N] [--json]
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { computeCostUsd, DEFAULT_PRICES } from '../lib/catalog';
import {
  clipToTokens,
  DEFAULT_CONTEXT_BUDGETS,
  DEFAULT_RECENT_TURNS,
  findFoldPoints,
  layoutWholePrompt,
  planPromptHistory,
  splitTurns,
  SUMMARY_MAX_TOKENS,
} from '../lib/context-budget';
import { PAGE_TOKEN_BUDGET, preparePageText } from '../lib/extension/page-text';
import { splitPassages } from '../lib/passages';
import type { ChatMessage, PageContext } from '../lib/protocol';
import { countTokens } from '../lib/tokens';
import {
  buildSummaryKey,
  buildSummaryRequest,
} from '../server/context/summary-request';
import { buildPrompt } from '../server/prompt';

const DEFAULT_DATA = path.resolve(
  import.meta.dirname,
  '../../shared/data/prompts-arena-hard-v0.1.jsonl',
);
const TURNS = 20;
/** Maximum length of a prompt used as a question, in tokens. */
const MAX_QUESTION_TOKENS = 300;
/** The cheap tier's default model, whose list price turns tokens into dollars. */
const PRICED_MODEL = 'gemini:gemini-3-flash';
/** Paragraphs of the long article. */
const ARTICLE_PARAGRAPHS = 150;

interface TurnFigures {
  turn: number;
  wholeTokens: number;
  budgetTokens: number;
  summaryCallInputTokens: number;
  summaryCallOutputTokens: number;
  summarizedTurns: number;
}

/** Reads the prompts of an Arena-Hard JSON Lines file, in file order. */
function readPrompts(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => (JSON.parse(line) as { prompt: string }).prompt);
}

/** Builds an answer stand-in of `tokens` tokens from the prompts after `start`. */
function buildAnswer(prompts: string[], start: number, tokens: number): string {
  let text = '';
  for (let index = start; countTokens(text) < tokens; index++) {
    text += `${prompts[index % prompts.length] as string}\n\n`;
  }
  return clipToTokens(text.trim(), tokens).text;
}

function firstSentence(text: string): string {
  const sentence = text.split(/(?<=[.!?])\s|\n/)[0] ?? '';
  return sentence.slice(0, 300);
}

/**
 * Summarizes deterministically, with no model: appends the first sentence
 * of each new message to the previous summary's lines, then drops the
 * oldest lines until the whole fits SUMMARY_MAX_TOKENS.
 */
function summarizeLocally(
  previous: string | undefined,
  turns: readonly ChatMessage[],
): string {
  const lines = previous === undefined ? [] : previous.split('\n');
  for (const message of turns) {
    const label = message.role === 'user' ? 'User asked' : 'Assistant said';
    lines.push(`${label}: ${firstSentence(message.content)}`);
  }
  while (
    lines.length > 1 &&
    countTokens(lines.join('\n')) > SUMMARY_MAX_TOKENS
  ) {
    lines.shift();
  }
  return clipToTokens(lines.join('\n'), SUMMARY_MAX_TOKENS).text;
}

/**
 * Replays the conversation. Summaries are kept the way the backend keeps
 * them: per state of the folded turns, extending the previous state's
 * summary by the newest folded turn when it is stored.
 */
function replayConversation(
  prompts: string[],
  answerTokens: number,
): TurnFigures[] {
  const questions = prompts
    .filter((prompt) => countTokens(prompt) <= MAX_QUESTION_TOKENS)
    .slice(0, TURNS);
  const contextTokens = DEFAULT_CONTEXT_BUDGETS.cheap.contextTokens;
  const summaries = new Map<string, string>();
  const history: ChatMessage[] = [];
  const figures: TurnFigures[] = [];

  questions.forEach((question, index) => {
    const whole = layoutWholePrompt({ question, history });
    const plan = planPromptHistory({ history, contextTokens });
    let summaryCallInputTokens = 0;
    let summaryCallOutputTokens = 0;
    let summary: string | undefined;

    if (plan.foldedTurns > 0) {
      const key = buildSummaryKey('eval', plan.folded);
      summary = summaries.get(key);
      if (summary === undefined) {
        const turns = splitTurns(plan.folded);
        const point = findFoldPoints(turns)
          .filter((candidate) => candidate < turns.length)
          .at(-1);
        const previous =
          point === undefined
            ? undefined
            : summaries.get(
                buildSummaryKey('eval', turns.slice(0, point).flat()),
              );
        const newTurns = (
          previous === undefined ? turns : turns.slice(point)
        ).flat();
        summaryCallInputTokens = buildSummaryRequest({
          previousSummary: previous,
          turns: newTurns,
        }).inputTokens;
        summary = summarizeLocally(previous, newTurns);
        summaryCallOutputTokens = countTokens(summary);
        summaries.set(key, summary);
      }
    }

    const prompt = buildPrompt({
      question,
      history,
      contextTokens,
      summary:
        summary === undefined ? undefined : { kind: 'text', text: summary },
    });
    figures.push({
      turn: index + 1,
      wholeTokens: whole.inputTokens,
      budgetTokens: prompt.inputTokens,
      summaryCallInputTokens,
      summaryCallOutputTokens,
      summarizedTurns: prompt.context.summarizedTurns,
    });
    history.push(
      { role: 'user', content: question },
      {
        role: 'assistant',
        content: buildAnswer(prompts, TURNS + index * 7, answerTokens),
      },
    );
  });
  return figures;
}

interface ArticleFigures {
  question: string;
  pageTokens: number;
  wholeTokens: number;
  firstCutTokens: number;
  firstCutHasAnswer: boolean;
  budgetTokens: number;
  budgetHasAnswer: boolean;
  sentPassages: number;
  totalPassages: number;
}

/** Asks about the last paragraph of a long article made of the prompts. */
function askAboutArticle(prompts: string[]): ArticleFigures {
  const paragraphs = prompts
    .slice(TURNS, TURNS + ARTICLE_PARAGRAPHS)
    .map((prompt) => prompt.replace(/\n\s*\n/g, '\n'));
  const last = paragraphs.at(-1) as string;
  const page: PageContext = {
    title: 'Arena-Hard prompts as one long article',
    url: 'https://example.test/article',
    text: paragraphs.join('\n\n'),
  };
  // The question names the last paragraph's longest words.
  const words = [...new Set(last.match(/[A-Za-z]{6,}/g) ?? [])]
    .sort((a, b) => b.length - a.length || a.localeCompare(b))
    .slice(0, 4);
  const question = `What does the article say about ${words.join(', ')}?`;
  const needle = last.slice(0, 80);

  const whole = layoutWholePrompt({ question, history: [], pageContext: page });
  const cut = preparePageText(page, PAGE_TOKEN_BUDGET);
  const firstCut = layoutWholePrompt({
    question,
    history: [],
    pageContext: { ...page, text: cut.text },
  });
  const budget = buildPrompt({
    question,
    history: [],
    pageContext: page,
    contextTokens: DEFAULT_CONTEXT_BUDGETS.cheap.contextTokens,
  });
  const sentText = budget.messages.at(-1)?.content ?? '';
  return {
    question,
    pageTokens: countTokens(page.text),
    wholeTokens: whole.inputTokens,
    firstCutTokens: firstCut.inputTokens,
    firstCutHasAnswer: cut.text.includes(needle),
    budgetTokens: budget.inputTokens,
    budgetHasAnswer: sentText.includes(needle),
    sentPassages: budget.context.page?.sentPassages ?? 0,
    totalPassages: splitPassages(page.text).length,
  };
}

/** Prices input and output tokens, none of them cached, at PRICED_MODEL's list price. */
function priceTokens(inputTokens: number, outputTokens: number): number {
  const price = DEFAULT_PRICES[PRICED_MODEL];
  if (price === undefined) {
    throw new Error(`The catalog has no price for ${PRICED_MODEL}.`);
  }
  return computeCostUsd(price, {
    inputTokens,
    cachedInputTokens: 0,
    outputTokens,
  });
}

function formatNumber(value: number): string {
  return value.toLocaleString('en-US');
}

function main(): void {
  const { values } = parseArgs({
    options: {
      data: { type: 'string', default: DEFAULT_DATA },
      'answer-tokens': { type: 'string', default: '350' },
      json: { type: 'boolean', default: false },
    },
  });
  const answerTokens = Number(values['answer-tokens']);
  if (!Number.isInteger(answerTokens) || answerTokens < 1) {
    throw new Error(
      `--answer-tokens must be a whole number of at least 1, not "${values['answer-tokens']}".`,
    );
  }
  const prompts = readPrompts(values.data);
  const turns = replayConversation(prompts, answerTokens);
  const article = askAboutArticle(prompts);

  const sum = (pick: (figures: TurnFigures) => number) =>
    turns.reduce((total, figures) => total + pick(figures), 0);
  const whole = sum((figures) => figures.wholeTokens);
  const requests = sum((figures) => figures.budgetTokens);
  const summaryInput = sum((figures) => figures.summaryCallInputTokens);
  const summaryOutput = sum((figures) => figures.summaryCallOutputTokens);
  const totals = {
    wholeInputTokens: whole,
    budgetInputTokens: requests + summaryInput,
    budgetRequestInputTokens: requests,
    summaryCallInputTokens: summaryInput,
    summaryCallOutputTokens: summaryOutput,
    summaryCalls: turns.filter((figures) => figures.summaryCallInputTokens > 0)
      .length,
    share: (requests + summaryInput) / whole,
    // Answers' output is the same both ways, so it is left out.
    wholeUsd: priceTokens(whole, 0),
    budgetUsd: priceTokens(requests + summaryInput, summaryOutput),
  };

  if (values.json) {
    console.log(JSON.stringify({ answerTokens, turns, totals, article }));
    return;
  }
  const budget = DEFAULT_CONTEXT_BUDGETS.cheap.contextTokens;
  console.log(
    `20-turn conversation: Arena-Hard questions, stand-in answers of ${answerTokens} tokens, cheap budget ${formatNumber(budget)} tokens, ${DEFAULT_RECENT_TURNS} recent turns whole.`,
  );
  console.log('turn  resend all  budget  summary call in/out  summarized');
  for (const figures of turns) {
    console.log(
      [
        String(figures.turn).padStart(4),
        formatNumber(figures.wholeTokens).padStart(11),
        formatNumber(figures.budgetTokens).padStart(7),
        `${formatNumber(figures.summaryCallInputTokens)}/${formatNumber(figures.summaryCallOutputTokens)}`.padStart(
          20,
        ),
        String(figures.summarizedTurns).padStart(11),
      ].join(' '),
    );
  }
  console.log(
    `total input tokens: resend all ${formatNumber(whole)}; with the budget ${formatNumber(totals.budgetInputTokens)} (${formatNumber(requests)} in the requests + ${formatNumber(summaryInput)} in ${totals.summaryCalls} summary calls) = ${(totals.share * 100).toFixed(1)}%`,
  );
  console.log(
    `summary calls also wrote ${formatNumber(summaryOutput)} output tokens; at ${PRICED_MODEL} list prices, without the answers' output: resend all $${totals.wholeUsd.toFixed(4)}, with the budget $${totals.budgetUsd.toFixed(4)} (${((totals.budgetUsd / totals.wholeUsd) * 100).toFixed(1)}%).`,
  );
  console.log('');
  console.log(
    `Long article (${formatNumber(article.pageTokens)} tokens, ${article.totalPassages} passages): "${article.question}"`,
  );
  console.log(
    `  whole page:             ${formatNumber(article.wholeTokens).padStart(7)} input tokens, last paragraph sent: yes`,
  );
  console.log(
    `  first ${formatNumber(PAGE_TOKEN_BUDGET)} tokens:     ${formatNumber(article.firstCutTokens).padStart(7)} input tokens, last paragraph sent: ${article.firstCutHasAnswer ? 'yes' : 'no'}`,
  );
  console.log(
    `  budget (${article.sentPassages} passages):  ${formatNumber(article.budgetTokens).padStart(7)} input tokens, last paragraph sent: ${article.budgetHasAnswer ? 'yes' : 'no'}`,
  );
}

main();
