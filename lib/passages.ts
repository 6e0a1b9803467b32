/**
 * Page context within a token budget: the page's text is split into
 * passages, the passages are ranked against the question with BM25, and
 * the best ones that fit the budget are sent in page order, inside a
 * <page> block that names the page's title and URL.
 */
import type { PageContext } from './protocol';
import { OMISSION_MARKER, QUESTION_HEADING } from './system-prompt';
import { countTokens } from './tokens';

/** Maximum passage length, in characters; longer paragraphs are split. */
export const MAX_PASSAGE_CHARS = 1_200;

/** Paragraphs shorter than this (headings, captions) join the next one. */
export const MIN_PASSAGE_CHARS = 160;

/** Maximum title and URL lengths written into the page block, in characters. */
export const MAX_TITLE_CHARS = 300;
export const MAX_URL_CHARS = 1_000;

/** The text between the page block and the question in the final message. */
export const PAGE_BLOCK_SUFFIX = `\n\n${QUESTION_HEADING}\n`;

/** BM25 parameters, the usual defaults. */
const BM25_K1 = 1.2;
const BM25_B = 0.75;

/** Tokens set aside per passage for the separator and omission marker. */
const SEPARATOR_TOKENS = 4;

/**
 * Passages in a row that may fail to fit before the selection stops, so a
 * long page is not counted to its end once the budget is nearly full.
 */
const MAX_MISSES_IN_A_ROW = 32;

/** One passage of a page, numbered in page order from 0. */
export interface Passage {
  index: number;
  text: string;
}

/** The passages chosen for a question, and what was left out. */
export interface PassageSelection {
  /** The whole <page> block, as sent. */
  block: string;
  /** Tokens of the block with PAGE_BLOCK_SUFFIX, counted with lib/tokens. */
  tokens: number;
  /** Indexes of the passages sent, in page order. */
  sentIndexes: number[];
  totalPassages: number;
  /** Characters of page text left out. */
  omittedChars: number;
  /** Characters of the page's text, after splitting and trimming. */
  totalChars: number;
}

/**
 * Splits a page's text into passages: paragraphs (separated by blank
 * lines) cut at sentence ends to at most MAX_PASSAGE_CHARS, with short
 * paragraphs such as headings joined to the paragraph after them.
 */
export function splitPassages(text: string): Passage[] {
  const paragraphs = text
    .replace(/\r\n?/g, '\n')
    .split(/\n[ \t]*\n/)
    .map((paragraph) => paragraph.trim())
    .filter((paragraph) => paragraph !== '');

  const pieces = paragraphs.flatMap(splitLongParagraph);

  const merged: string[] = [];
  let pending = '';
  for (const piece of pieces) {
    if (pending === '') {
      pending = piece;
    } else if (
      pending.length < MIN_PASSAGE_CHARS &&
      pending.length + 1 + piece.length <= MAX_PASSAGE_CHARS
    ) {
      pending = `${pending}\n${piece}`;
    } else {
      merged.push(pending);
      pending = piece;
    }
  }
  if (pending !== '') {
    merged.push(pending);
  }
  return merged.map((passage, index) => ({ index, text: passage }));
}

function splitLongParagraph(paragraph: string): string[] {
  if (paragraph.length <= MAX_PASSAGE_CHARS) {
    return [paragraph];
  }
  const sentences = paragraph
    .split(/(?<=[.!?。！？])\s+/)
    .flatMap(cutLongSentence);

  const pieces: string[] = [];
  let current = '';
  for (const sentence of sentences) {
    if (current === '') {
      current = sentence;
    } else if (current.length + 1 + sentence.length <= MAX_PASSAGE_CHARS) {
      current = `${current} ${sentence}`;
    } else {
      pieces.push(current);
      current = sentence;
    }
  }
  if (current !== '') {
    pieces.push(current);
  }
  return pieces;
}

/** Cuts a sentence longer than a passage at spaces, or anywhere when it has none. */
function cutLongSentence(sentence: string): string[] {
  const pieces: string[] = [];
  let rest = sentence;
  while (rest.length > MAX_PASSAGE_CHARS) {
    let cut = rest.lastIndexOf(' ', MAX_PASSAGE_CHARS);
    if (cut < MAX_PASSAGE_CHARS / 2) {
      cut = MAX_PASSAGE_CHARS;
      // A cut between the halves of a surrogate pair would break a character.
      const code = rest.charCodeAt(cut - 1);
      if (code >= 0xd800 && code <= 0xdbff) {
        cut--;
      }
    }
    pieces.push(rest.slice(0, cut).trim());
    rest = rest.slice(cut).trim();
  }
  if (rest !== '') {
    pieces.push(rest);
  }
  return pieces;
}

const STOP_WORDS = new Set(
  (
    'a an and are as at be but by can do does for from had has have how i if in ' +
    'into is it its me my of on or our so than that the their them then there ' +
    'these they this to was we were what when where which who why will with you your'
  ).split(' '),
);

/**
 * Splits text into search terms: lowercased runs of letters and digits
 * without stop words and with a light suffix stemming, and single
 * characters for scripts written without spaces (Chinese, Japanese).
 */
export function extractTerms(text: string): string[] {
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  const terms: string[] = [];
  for (const word of words) {
    if (/[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]/u.test(word)) {
      terms.push(...word);
    } else if (!STOP_WORDS.has(word)) {
      terms.push(stem(word));
    }
  }
  return terms;
}

function stem(word: string): string {
  if (word.length <= 4) {
    return word;
  }
  for (const suffix of ['ing', 'ed', 'es', 's']) {
    if (word.endsWith(suffix) && word.length - suffix.length >= 3) {
      return word.slice(0, -suffix.length);
    }
  }
  return word;
}

/**
 * Scores each passage against the question with Okapi BM25 (k1 1.2,
 * b 0.75). Returns one score per passage, in the passages' order; 0 means
 * no term of the question occurs in the passage.
 */
export function rankPassages(
  question: string,
  passages: readonly Passage[],
): number[] {
  const queryTerms = [...new Set(extractTerms(question))];
  const documents = passages.map((passage) => {
    const frequencies = new Map<string, number>();
    const terms = extractTerms(passage.text);
    for (const term of terms) {
      frequencies.set(term, (frequencies.get(term) ?? 0) + 1);
    }
    return { frequencies, length: terms.length };
  });
  const count = documents.length;
  const averageLength =
    documents.reduce((sum, document) => sum + document.length, 0) /
    Math.max(1, count);

  const inverseFrequencies = queryTerms.map((term) => {
    const containing = documents.filter((document) =>
      document.frequencies.has(term),
    ).length;
    return Math.log(1 + (count - containing + 0.5) / (containing + 0.5));
  });

  return documents.map((document) => {
    let score = 0;
    queryTerms.forEach((term, termIndex) => {
      const frequency = document.frequencies.get(term) ?? 0;
      if (frequency === 0) {
        return;
      }
      const lengthRatio = document.length / Math.max(1, averageLength);
      score +=
        ((inverseFrequencies[termIndex] as number) *
          (frequency * (BM25_K1 + 1))) /
        (frequency + BM25_K1 * (1 - BM25_B + BM25_B * lengthRatio));
    });
    return score;
  });
}

/**
 * Chooses the passages of a page to send with a question, within
 * `budgetTokens` for the whole page block (tags, title and URL included).
 * Passages that share a term with the question are taken best first. When
 * none does, the page is taken from its start up to the first passage
 * that does not fit. The sent passages keep
 * their page order, with OMISSION_MARKER where passages were left out.
 * Returns undefined when not even the block's tags and one passage fit.
 * Tokens are counted one passage at a time, so a long page is not counted
 * whole.
 */
export function selectPassages(options: {
  question: string;
  page: PageContext;
  budgetTokens: number;
}): PassageSelection | undefined {
  const { page, budgetTokens } = options;
  const passages = splitPassages(page.text);
  const totalChars = passages.reduce(
    (sum, passage) => sum + passage.text.length,
    0,
  );
  const frameTokens = countTokens(
    formatPageBlock(page, []) + PAGE_BLOCK_SUFFIX,
  );
  if (passages.length === 0 || frameTokens >= budgetTokens) {
    return undefined;
  }

  const ranked = orderPassages(options.question, passages);
  const chosen: Passage[] = [];
  let remaining = budgetTokens - frameTokens;
  let misses = 0;
  for (const passage of ranked ?? passages) {
    const cost = countTokens(passage.text) + SEPARATOR_TOKENS;
    if (cost <= remaining) {
      chosen.push(passage);
      remaining -= cost;
      misses = 0;
    } else if (ranked === undefined) {
      // Without a match the page is sent from its start, without gaps.
      break;
    } else {
      misses++;
    }
    if (remaining <= SEPARATOR_TOKENS || misses >= MAX_MISSES_IN_A_ROW) {
      break;
    }
  }

  // The separators were estimated; the block is counted exactly, and the
  // lowest-ranked passage goes until it fits.
  while (chosen.length > 0) {
    const inPageOrder = [...chosen].sort((a, b) => a.index - b.index);
    const block = formatPageBlock(page, inPageOrder, passages.length);
    const tokens = countTokens(block + PAGE_BLOCK_SUFFIX);
    if (tokens <= budgetTokens) {
      const sentChars = inPageOrder.reduce(
        (sum, passage) => sum + passage.text.length,
        0,
      );
      return {
        block,
        tokens,
        sentIndexes: inPageOrder.map((passage) => passage.index),
        totalPassages: passages.length,
        omittedChars: totalChars - sentChars,
        totalChars,
      };
    }
    chosen.pop();
  }
  return undefined;
}

/**
 * Orders the passages that share a term with the question best first: by
 * score, then page order. Returns undefined when none does.
 */
function orderPassages(
  question: string,
  passages: Passage[],
): Passage[] | undefined {
  const scores = rankPassages(question, passages);
  if (!scores.some((score) => score > 0)) {
    return undefined;
  }
  return passages
    .filter((passage) => (scores[passage.index] as number) > 0)
    .sort(
      (a, b) =>
        (scores[b.index] as number) - (scores[a.index] as number) ||
        a.index - b.index,
    );
}

/**
 * Writes the <page> block: the title and URL as attributes, then the
 * passages in the order given, with OMISSION_MARKER for every gap. Closing
 * tags inside the page's own text are broken up, so a page cannot end the
 * block early and pose as the user.
 */
export function formatPageBlock(
  page: PageContext,
  passages: readonly Passage[],
  totalPassages = passages.length,
): string {
  const title = escapeAttribute(page.title.slice(0, MAX_TITLE_CHARS));
  const url = escapeAttribute(page.url.slice(0, MAX_URL_CHARS));
  const parts: string[] = [];
  let next = 0;
  for (const passage of passages) {
    if (passage.index > next) {
      parts.push(OMISSION_MARKER);
    }
    parts.push(passage.text.replace(/<\/page/gi, '<\\/page'));
    next = passage.index + 1;
  }
  if (passages.length > 0 && next < totalPassages) {
    parts.push(OMISSION_MARKER);
  }
  return `<page title="${title}" url="${url}">\n${parts.join('\n\n')}\n</page>`;
}

function escapeAttribute(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/"/g, '&quot;')
    .replace(/</g, '&lt;')
    .replace(/\n/g, ' ');
}
