/**
 * Question normalization for the answer cache. Two questions that normalize
 * to the same text share cache entries, so every fold here must keep the
 * meaning: it folds case, white space, Unicode compatibility forms (NFKC),
 * typographic quotes and trailing punctuation, and nothing that could merge
 * questions differing in a number, a negation or a named entity.
 */

// Invisible characters that only affect line breaking or byte order.
const INVISIBLE_CHARACTERS = /[\u00AD\u200B\u2060\uFEFF]/g;

// NFKC turns "10²" into "102" and "x₁₀" into "x10", which changes the
// number, so the raised or lowered digits keep a marker.
const SUPERSCRIPTS = /[\u00B2\u00B3\u00B9\u2070\u2071\u2074-\u207F]+/g;
const SUBSCRIPTS = /[\u2080-\u208E\u2090-\u209C]+/g;

// NFKC turns "1½" into "11⁄2", so a vulgar fraction becomes its own word.
const VULGAR_FRACTIONS = /[\u00BC-\u00BE\u2150-\u215F\u2189]/g;

const SINGLE_QUOTES = /[\u2018\u2019\u201A\u201B\u2032]/g;
const DOUBLE_QUOTES = /[\u201C\u201D\u201E\u201F\u2033]/g;

const WORDS = /[\p{L}\p{M}\p{N}]+/gu;
const TRAILING_PUNCTUATION = new Set([
  '?',
  '!',
  '.',
  ',',
  ';',
  ':',
  '\u2026',
  '\u3002',
  '\u3001',
]);
const LEADING_PUNCTUATION = new Set(['\u00BF', '\u00A1']);

/**
 * Normalizes a question for cache lookups: NFKC, lower case except acronyms
 * in mixed-case text ("US" stays apart from "us"), one space between words,
 * straight quotes, and no trailing "?", "!", "." and the like. A "!" after
 * a digit or a closing bracket stays, because it may be a factorial.
 */
export function normalizeQuestion(question: string): string {
  let text = question.replace(INVISIBLE_CHARACTERS, '');

  text = text
    .replace(SUPERSCRIPTS, (digits) => `^${digits.normalize('NFKC')}`)
    .replace(SUBSCRIPTS, (digits) => `_${digits.normalize('NFKC')}`)
    .replace(VULGAR_FRACTIONS, (fraction) => ` ${fraction.normalize('NFKC')} `)
    .normalize('NFKC');

  text = text.replace(SINGLE_QUOTES, "'").replace(DOUBLE_QUOTES, '"');
  text = foldCase(text);
  text = text.replace(/\s+/gu, ' ').trim();

  return stripEdgePunctuation(text);
}

/**
 * Lower-cases every word, except that in text with some lower-case letters
 * an all-capital word of two or more letters is kept as an acronym. Text
 * without lower-case letters (typed with caps lock) is folded entirely.
 */
function foldCase(text: string): string {
  if (!/\p{Ll}/u.test(text)) {
    return text.toLowerCase();
  }
  return text.replace(WORDS, (word) =>
    isAcronym(word) ? word : word.toLowerCase(),
  );
}

function isAcronym(word: string): boolean {
  const capitals = word.match(/\p{Lu}/gu)?.length ?? 0;
  return capitals >= 2 && !/\p{Ll}/u.test(word);
}

/** Returns whether the run of "!" ending at `index` follows a digit or a bracket. */
function followsFactorialOperand(text: string, index: number): boolean {
  let runStart = index;
  while (runStart > 0 && text[runStart - 1] === '!') {
    runStart--;
  }
  return runStart > 0 && /[\p{N})\]]/u.test(text[runStart - 1] as string);
}

function stripEdgePunctuation(text: string): string {
  let end = text.length;
  while (end > 0) {
    const character = text[end - 1] as string;
    if (character === ' ') {
      end--;
      continue;
    }
    if (!TRAILING_PUNCTUATION.has(character)) {
      break;
    }
    if (character === '!' && followsFactorialOperand(text, end - 1)) {
      break;
    }
    end--;
  }

  let start = 0;
  while (
    start < end &&
    (LEADING_PUNCTUATION.has(text[start] as string) || text[start] === ' ')
  ) {
    start++;
  }
  return text.slice(start, end);
}
