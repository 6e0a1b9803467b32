/**
 * Text features of a question for the router: the kind of prompt, a fixed
 * list of numeric hand features, and hashed word buckets. Everything here
 * is pure and deterministic, so the training script and the router compute
 * the same numbers from the same text.
 */

/** The kinds of prompt the router has a trained model for, or `general`. */
export type PromptKind = 'multiple-choice' | 'maths-word-problem' | 'general';

/** Characters of a question that feature extraction reads, so time stays bounded. */
export const MAX_ANALYZED_CHARS = 20_000;

/**
 * Hashed word buckets per model; a power of two. Cross-validation on the
 * MMLU training prompts scored 1,024 buckets the same as 4,096, and the
 * smaller table keeps the weights file under 60 KB.
 */
export const WORD_BUCKETS = 1024;

/** Words read for the hashed features; later words are ignored. */
const MAX_HASHED_WORDS = 2_000;

const OPTION_LINE = /^\s*\(?[A-D][.)]\s/;
const NUMBER = /\d+(?:[.,]\d+)*/g;
const CODE_SIGNS =
  /```|^\s*(?:def|function|class|import|#include|public|private|const|let|var|SELECT)\b[^\n]*[({:=;]\s*$|[{};]\s*$|=>|\w\([^)\n]*\)\s*[{:;]\s*$/m;
const QUANTITY_WORDS =
  /\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundred|thousand|twice|half|third|quarter|double|triple|dozen)\b/gi;
const PROOF_WORDS = /\b(?:prove|proof|derive|theorem|lemma|show that)\b/i;
const MATHS_QUESTION =
  /\b(?:how (?:many|much|long|far|old)|what (?:is|was|were|are) the|find|calculate|compute)\b|\?/i;

const NUMBER_WORDS =
  /\b(?:twice|half|double|triple|dozen|quarter|third|thirds|fourth|fifth|percent)\b/g;
const COMPARISONS =
  /\b(?:more than|less than|fewer than|times as|as many|as much|times more)\b/g;
const UNITS =
  /\b(?:hours?|minutes?|seconds?|days?|weeks?|months?|years?|miles?|feet|inch(?:es)?|meters?|pounds?|ounces?|gallons?|liters?|kilograms?|grams?)\b/g;
const AGGREGATES =
  /\b(?:each|per|every|average|total|altogether|combined|remaining|rest|left)\b/g;
const CONDITIONS =
  /\b(?:if|after|then|before|until|when|instead|but|however|except)\b/g;
const YEAR = /\b(?:1[5-9]\d\d|20\d\d)\b/;
const MATHS_SYMBOLS = /[πθλμσΔ√∫≤≥]|\^|\\/;
const CALCULATION_REQUEST =
  /\b(?:calculate|compute|what is the value|how many|how much|find the)\b/i;
const REFERENCED_PASSAGE = /this question refers|following information/i;
const SCIENCE_UNITS = /\b(?:m\/s|kg|J|N|mol|eV|Hz|K|°C|cm|nm|W|V|Ω)(?!\w)/;

/** Facts about a question that the features and the reasons both use. */
export interface QuestionFacts {
  /** The question, cut to MAX_ANALYZED_CHARS. */
  text: string;
  /** Characters of the whole question. */
  length: number;
  words: number;
  /** Numbers written with digits. */
  numbers: string[];
  /** Numbers written with digits or as words ("three", "twice", "half"). */
  quantities: number;
  /** Answer option lines such as "B. ..." of a multiple-choice question. */
  optionLines: string[];
  /** The question without its option lines and its trailing "Answer:". */
  stem: string;
}

/** Collects the facts about a question that the features are built from. */
export function collectQuestionFacts(question: string): QuestionFacts {
  const text = question.slice(0, MAX_ANALYZED_CHARS);
  const lines = text.split('\n');
  const optionLines = lines.filter((line) => OPTION_LINE.test(line));
  const numbers = text.match(NUMBER) ?? [];
  const stem = lines
    .filter((line) => !OPTION_LINE.test(line) && line.trim() !== 'Answer:')
    .join('\n');

  return {
    text,
    length: question.length,
    words: countMatches(text, /[\p{L}']+/gu),
    numbers,
    quantities: numbers.length + countMatches(text, QUANTITY_WORDS),
    optionLines,
    stem,
  };
}

/**
 * Classifies a question as a multiple-choice question (three or more
 * lettered option lines), a maths word problem (prose with a number in
 * digits and two or more quantities that asks for a quantity, and no code
 * or proof), or general.
 */
export function classifyPrompt(facts: QuestionFacts): PromptKind {
  if (facts.optionLines.length >= 3) {
    return 'multiple-choice';
  }

  const isProse = facts.words >= 12 && facts.words <= 400;
  if (
    isProse &&
    facts.numbers.length >= 1 &&
    facts.quantities >= 2 &&
    MATHS_QUESTION.test(facts.text) &&
    !looksLikeCode(facts.text) &&
    !PROOF_WORDS.test(facts.text)
  ) {
    return 'maths-word-problem';
  }
  return 'general';
}

/** Tells whether a text contains source code: a fence, or a line shaped like code. */
export function looksLikeCode(text: string): boolean {
  return CODE_SIGNS.test(text);
}

/** Names of the hand features, in the order of the vector they form. */
export const HAND_FEATURE_NAMES = [
  'logLength',
  'logLengthSquared',
  'logWords',
  'logNumbers',
  'logDistinctNumbers',
  'logSentences',
  'questionMarks',
  'percent',
  'slashFraction',
  'numberWords',
  'comparisons',
  'units',
  'distinctUnits',
  'aggregates',
  'conditions',
  'decimal',
  'money',
  'mathsNotation',
  'negation',
  'statementPair',
  'scenarioPair',
  'romanNumerals',
  'allOrNoneOfTheAbove',
  'codeSigns',
  'meanWordLength',
  'longWordShare',
  'capitalizedShare',
  'logMaxNumber',
  'whichOfTheFollowing',
  'quotation',
  'firstPerson',
  'logMeanOptionLength',
  'logMaxOptionLength',
  'numericOptionShare',
  'logStemLength',
  'stemEndsMidSentence',
  'stemEndsWithColon',
  'year',
  'optionsWithDigitsShare',
  'mathsSymbols',
  'calculationRequest',
  'referencedPassage',
  'scienceUnits',
  'fillInTheBlank',
  'stemEquation',
  'logStemNumbers',
  'optionsShareFirstWord',
  'optionsWithBecauseShare',
] as const;

export type HandFeatureName = (typeof HAND_FEATURE_NAMES)[number];

/**
 * Computes the hand features of a question, in HAND_FEATURE_NAMES order.
 * Counts go through log1p and are scaled to about [0, 1].
 */
export function computeHandFeatures(facts: QuestionFacts): number[] {
  const { text, stem, numbers, optionLines } = facts;
  const lower = text.toLowerCase();
  const wordList = text.match(/[\p{L}']+/gu) ?? [];
  const wordCount = Math.max(1, wordList.length);
  const logLength = Math.log1p(facts.length) / 8;
  const unitMatches = lower.match(UNITS) ?? [];
  const numericValues = numbers
    .map((value) => Number(value.replace(/,/g, '')))
    .filter((value) => Number.isFinite(value));
  const optionLengths = optionLines.map((line) => line.length);
  const stemEnd = stem.trimEnd();
  const meanOptionLength =
    optionLengths.length === 0
      ? 0
      : optionLengths.reduce((sum, value) => sum + value, 0) /
        optionLengths.length;

  const values: Record<HandFeatureName, number> = {
    logLength,
    logLengthSquared: logLength * logLength,
    logWords: Math.log1p(facts.words) / 6,
    logNumbers: Math.log1p(numbers.length) / 3,
    logDistinctNumbers: Math.log1p(new Set(numbers).size) / 3,
    logSentences: Math.log1p(countMatches(stem, /[.?!](?:\s|$)/g)) / 3,
    questionMarks: Math.min(3, countMatches(stem, /\?/g)) / 3,
    percent: flag(text.includes('%') || lower.includes('percent')),
    slashFraction: flag(/\d\/\d/.test(text)),
    numberWords: Math.log1p(countMatches(lower, NUMBER_WORDS)) / 2,
    comparisons: Math.log1p(countMatches(lower, COMPARISONS)) / 2,
    units: Math.log1p(unitMatches.length) / 2,
    distinctUnits: Math.log1p(new Set(unitMatches).size) / 2,
    aggregates: Math.log1p(countMatches(lower, AGGREGATES)) / 2,
    conditions: Math.log1p(countMatches(lower, CONDITIONS)) / 2,
    decimal: flag(/\d\.\d/.test(text)),
    money: flag(text.includes('$')),
    mathsNotation: flag(/\\\(|\\frac|\^|\\[a-z]+/.test(text)),
    negation: flag(/\b(?:NOT|EXCEPT|LEAST|false|incorrect)\b/.test(text)),
    statementPair: flag(text.includes('Statement 1')),
    scenarioPair: flag(text.includes('Scenario 1')),
    romanNumerals: flag(/\b(?:I|II|III|IV)\b/.test(text)),
    allOrNoneOfTheAbove: flag(
      /\b(?:all|none|both) of (?:the above|these)\b/.test(lower),
    ),
    codeSigns: flag(/[{};=]|def |return |print\(/.test(text)),
    meanWordLength:
      wordList.reduce((sum, word) => sum + word.length, 0) / wordCount / 6,
    longWordShare:
      (wordList.filter((word) => word.length >= 10).length / wordCount) * 5,
    capitalizedShare:
      (wordList.filter((word) => /^\p{Lu}/u.test(word)).length / wordCount) * 3,
    logMaxNumber: Math.log1p(Math.max(0, ...numericValues)) / 10,
    whichOfTheFollowing: flag(lower.includes('which of the following')),
    quotation: flag(/["“”]/.test(text)),
    firstPerson: flag(/\b(?:I|my|me)\b/.test(stem)),
    logMeanOptionLength: Math.log1p(meanOptionLength) / 5,
    logMaxOptionLength: Math.log1p(Math.max(0, ...optionLengths)) / 5,
    numericOptionShare:
      optionLines.filter((line) => /^\s*\(?[A-D][.)]\s[-\d.$]/.test(line))
        .length / 4,
    logStemLength: Math.log1p(stem.length) / 8,
    // A stem that stops mid-sentence ("The capital of Peru is") is a
    // sentence to complete rather than a question.
    stemEndsMidSentence: flag(/\w$/.test(stemEnd)),
    stemEndsWithColon: flag(stemEnd.endsWith(':')),
    year: flag(YEAR.test(text)),
    optionsWithDigitsShare:
      optionLines.filter((line) => /\d/.test(line)).length / 4,
    mathsSymbols: flag(MATHS_SYMBOLS.test(text)),
    calculationRequest: flag(CALCULATION_REQUEST.test(text)),
    referencedPassage: flag(REFERENCED_PASSAGE.test(text)),
    scienceUnits: flag(SCIENCE_UNITS.test(text)),
    fillInTheBlank: flag(/_{2,}/.test(text)),
    stemEquation: flag(stem.includes('=')),
    logStemNumbers: Math.log1p(countMatches(stem, NUMBER)) / 3,
    // Options such as "Yes, because ..." and "No, because ..." weigh one
    // argument against another.
    optionsShareFirstWord: flag(
      optionLines.length >= 4 && countDistinctFirstWords(optionLines) <= 2,
    ),
    optionsWithBecauseShare:
      optionLines.filter((line) => /\bbecause\b/i.test(line)).length / 4,
  };
  return HAND_FEATURE_NAMES.map((name) => values[name]);
}

/**
 * Hashes the distinct lower-cased words (runs of letters) of a question
 * into WORD_BUCKETS buckets with FNV-1a. Returns the distinct bucket
 * indexes in ascending order.
 */
export function hashWordBuckets(text: string): number[] {
  const words = text.toLowerCase().match(/\p{L}+/gu) ?? [];
  const buckets = new Set<number>();

  for (const word of words.slice(0, MAX_HASHED_WORDS)) {
    buckets.add(hashFnv1a(word) % WORD_BUCKETS);
  }
  return [...buckets].sort((left, right) => left - right);
}

/** Hashes a string's UTF-16 code units with 32-bit FNV-1a. */
export function hashFnv1a(value: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < value.length; index += 1) {
    hash ^= value.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** Counts the distinct first words of option lines, after their letters. */
function countDistinctFirstWords(optionLines: readonly string[]): number {
  const firstWords = optionLines.map(
    (line) => line.replace(OPTION_LINE, '').trim().split(/\s+/)[0] ?? '',
  );
  return new Set(firstWords).size;
}

function countMatches(text: string, pattern: RegExp): number {
  return text.match(pattern)?.length ?? 0;
}

function flag(condition: boolean): number {
  return condition ? 1 : 0;
}
