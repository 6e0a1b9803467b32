/**
 * Tokenizer speed: lib/tokens.ts `countTokens` (gpt-tokenizer's o200k_base
 * encoding) on short questions and on one page of about 100,000 tokens.
 */
import { countTokens } from '../../lib/tokens';
import { spreadOf, type RunSpread } from '../stats';

export interface TokenizerResult {
  shortQuestions: {
    questions: number;
    tokensPerQuestion: number;
    tokensPerSecond: RunSpread;
    microsecondsPerQuestion: RunSpread;
  };
  largePage: {
    characters: number;
    tokens: number;
    tokensPerSecond: RunSpread;
    milliseconds: RunSpread;
  };
}

const QUESTIONS = [
  'What is the capital of France?',
  'How do I reverse a linked list in Python?',
  'Explain the difference between TCP and UDP.',
  'Translate "good morning" into Spanish.',
  'Why is the sky blue?',
  'Write a haiku about autumn rain.',
  'What does HTTP status 429 mean?',
  'Summarize the causes of the First World War in three sentences.',
];

const PAGE_PARAGRAPH =
  'The committee met on Tuesday to review the quarterly figures. Revenue ' +
  'rose by 4.2% against the same period last year, while operating costs ' +
  'fell slightly, mostly because of lower energy prices. Members asked ' +
  'for a breakdown by region (north, south, east and west) and for the ' +
  'hiring plan of 2027. The next meeting is set for 14 March at 10:30. ';

/** Target size of the large page, in tokens. */
const PAGE_TOKENS = 100_000;

/** Times the tokenizer; `quick` runs fewer rounds. */
export function benchmarkTokenizer(options: {
  quick: boolean;
}): TokenizerResult {
  const rounds = options.quick ? 3 : 7;
  const questionRepeats = options.quick ? 500 : 2_000;

  // Warms up the encoder, which loads its ranks on first use.
  countTokens(QUESTIONS.join(' '));

  const questionTokens = QUESTIONS.map(countTokens);
  const tokensPerQuestion =
    questionTokens.reduce((sum, tokens) => sum + tokens, 0) / QUESTIONS.length;
  const shortRates: number[] = [];
  const shortMicroseconds: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const startedAt = performance.now();
    let tokens = 0;
    for (let repeat = 0; repeat < questionRepeats; repeat++) {
      for (const question of QUESTIONS) {
        tokens += countTokens(question);
      }
    }
    const elapsedMs = performance.now() - startedAt;
    shortRates.push(tokens / (elapsedMs / 1_000));
    shortMicroseconds.push(
      (elapsedMs * 1_000) / (questionRepeats * QUESTIONS.length),
    );
  }

  const page = buildPage();
  const pageTokens = countTokens(page);
  const pageRates: number[] = [];
  const pageMilliseconds: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const startedAt = performance.now();
    const tokens = countTokens(page);
    const elapsedMs = performance.now() - startedAt;
    pageRates.push(tokens / (elapsedMs / 1_000));
    pageMilliseconds.push(elapsedMs);
  }

  return {
    shortQuestions: {
      questions: QUESTIONS.length * questionRepeats,
      tokensPerQuestion,
      tokensPerSecond: spreadOf(shortRates) as RunSpread,
      microsecondsPerQuestion: spreadOf(shortMicroseconds) as RunSpread,
    },
    largePage: {
      characters: page.length,
      tokens: pageTokens,
      tokensPerSecond: spreadOf(pageRates) as RunSpread,
      milliseconds: spreadOf(pageMilliseconds) as RunSpread,
    },
  };
}

// Repeats a paragraph with a running number until the page has about
// PAGE_TOKENS tokens, so the text is not one run repeated verbatim.
function buildPage(): string {
  const paragraphTokens = countTokens(PAGE_PARAGRAPH);
  const count = Math.ceil(PAGE_TOKENS / (paragraphTokens + 3));
  const parts: string[] = [];
  for (let index = 0; index < count; index++) {
    parts.push(`${index + 1}. ${PAGE_PARAGRAPH}\n`);
  }
  return parts.join('');
}
