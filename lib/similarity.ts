/**
 * Question similarity for offering an earlier answer ("a similar question
 * was answered before"). Pure TypeScript, shared by the extension and the
 * backend's commands.
 *
 * The score mixes the overlap of content words (stemmed, stop words
 * dropped) with the overlap of character trigrams. Guards then keep two
 * questions apart when they differ in a number, a negation or a named
 * entity: such a pair scores at most half its raw score, which is always
 * below SIMILARITY_THRESHOLD.
 */
import { normalizeQuestion } from './extension/normalize-question';

/**
 * Score at or above which two questions count as similar. Chosen with
 * `npm run eval:cache -- --tune` on the training part of the Banking77
 * development set, where it matched 10.2% of same-intent pairs and 0.11%
 * of different-intent pairs. It must stay above 0.5, because guarded
 * pairs score at most 0.5.
 */
export const SIMILARITY_THRESHOLD = 0.52;

/** Weight of the content-word overlap; the trigram overlap gets the rest. */
const WORD_WEIGHT = 0.7;

const STOP_WORDS = new Set(
  (
    'a an the i me my mine we us our you your he she it its they them their ' +
    'is am are was were be been being do does did doing have has had having ' +
    'to of in on at by for from with about into onto over as so than then ' +
    "this that these those there here it's i'm i've i'd i'll im ive " +
    'please can could would should will shall may might must just also ' +
    'and or but if any some get got getting help know tell want need like ' +
    'still yet already ok okay hi hello thanks thank'
  ).split(' '),
);

const NEGATIONS = new Set([
  'not',
  'no',
  'never',
  'none',
  'nothing',
  'nobody',
  'nowhere',
  'neither',
  'nor',
  'without',
  'cannot',
  'cant',
  'dont',
  'doesnt',
  'didnt',
  'isnt',
  'arent',
  'wasnt',
  'werent',
  'wont',
  'wouldnt',
  'couldnt',
  'shouldnt',
  'hasnt',
  'havent',
  'hadnt',
  'aint',
]);

const NUMBER_WORDS = new Map(
  Object.entries({
    zero: '0',
    one: '1',
    two: '2',
    three: '3',
    four: '4',
    five: '5',
    six: '6',
    seven: '7',
    eight: '8',
    nine: '9',
    ten: '10',
    eleven: '11',
    twelve: '12',
    twenty: '20',
    thirty: '30',
    forty: '40',
    fifty: '50',
    hundred: '100',
    thousand: '1000',
    million: '1000000',
    first: '1st',
    second: '2nd',
    third: '3rd',
    fourth: '4th',
    fifth: '5th',
    once: '1x',
    twice: '2x',
    half: '0.5',
    double: '2x',
  }),
);

/**
 * Lower-case words that name a specific thing, so two questions that
 * differ in one of them never match: currencies, card networks, payment
 * services and common countries. Capitalized words are entities too.
 */
const KNOWN_ENTITIES = new Set(
  (
    'usd eur gbp jpy chf cad aud cny inr rub btc eth dollar dollars euro euros ' +
    'pound pounds sterling yen franc francs rupee rupees ruble rubles yuan ' +
    'bitcoin ethereum crypto visa mastercard amex maestro paypal apple google ' +
    'samsung android iphone ios uk us usa america england britain france ' +
    'germany spain italy china japan india canada australia mexico russia ' +
    'europe london paris berlin'
  ).split(' '),
);

interface QuestionFeatures {
  /** Stemmed content words. */
  words: Set<string>;
  /** Character trigrams of the normalized text without spaces at the ends. */
  trigrams: Set<string>;
  numbers: Set<string>;
  negated: boolean;
  /** Entities, lower case. */
  entities: Set<string>;
  /** Every word of the question, lower case, apostrophes removed. */
  allWords: Set<string>;
}

/**
 * Scores how similar two questions are, from 0 (unrelated) to 1 (the same
 * after normalization). A pair that differs in a number, a negation or a
 * named entity scores at most half its raw score.
 */
export function scoreQuestionSimilarity(a: string, b: string): number {
  const first = extractFeatures(a);
  const second = extractFeatures(b);
  if (
    normalizeQuestion(a).toLowerCase() === normalizeQuestion(b).toLowerCase()
  ) {
    return 1;
  }

  const raw =
    WORD_WEIGHT * dice(first.words, second.words) +
    (1 - WORD_WEIGHT) * dice(first.trigrams, second.trigrams);
  const guarded =
    !sameSet(first.numbers, second.numbers) ||
    first.negated !== second.negated ||
    !entitiesAgree(first, second) ||
    !entitiesAgree(second, first);
  return guarded ? raw / 2 : raw;
}

/** Returns whether two questions score at or above SIMILARITY_THRESHOLD. */
export function isSimilarQuestion(a: string, b: string): boolean {
  return scoreQuestionSimilarity(a, b) >= SIMILARITY_THRESHOLD;
}

function extractFeatures(question: string): QuestionFeatures {
  const normalized = normalizeQuestion(question);
  const rawWords = normalized.match(/[\p{L}\p{N}'’.,]+/gu) ?? [];
  const words = new Set<string>();
  const allWords = new Set<string>();
  const numbers = new Set<string>();
  let negated = false;

  for (const rawWord of rawWords) {
    const word = rawWord
      .toLowerCase()
      .replace(/['’]/g, '')
      .replace(/[.,]+$/, '');
    if (word === '') {
      continue;
    }
    allWords.add(word);
    if (/\p{N}/u.test(word)) {
      numbers.add(word.replace(/,/g, ''));
      continue;
    }
    const number = NUMBER_WORDS.get(word);
    if (number !== undefined) {
      numbers.add(number);
      continue;
    }
    if (NEGATIONS.has(word)) {
      negated = true;
      continue;
    }
    if (!STOP_WORDS.has(word)) {
      words.add(stem(word));
    }
  }

  const letters = normalized.toLowerCase().replace(/\s+/g, ' ');
  const trigrams = new Set<string>();
  for (let index = 0; index + 3 <= letters.length; index++) {
    trigrams.add(letters.slice(index, index + 3));
  }

  return {
    words,
    trigrams,
    numbers,
    negated,
    entities: findEntities(question, allWords),
    allWords,
  };
}

/**
 * Finds entities: capitalized words that do not start a sentence (and are
 * not "I"), all-capital acronyms, and the KNOWN_ENTITIES list.
 */
function findEntities(question: string, allWords: Set<string>): Set<string> {
  const entities = new Set<string>();
  for (const word of allWords) {
    if (KNOWN_ENTITIES.has(word)) {
      entities.add(word);
    }
  }
  const sentences = question.split(/[.!?]\s+|\n+/);
  for (const sentence of sentences) {
    const tokens = sentence.match(/[\p{L}\p{N}'’]+/gu) ?? [];
    tokens.forEach((token, index) => {
      const acronym = token.length >= 2 && /^\p{Lu}+$/u.test(token);
      const capitalized =
        index > 0 && /^\p{Lu}/u.test(token) && !/^I(['’]|$)/u.test(token);
      if (acronym || capitalized) {
        entities.add(token.toLowerCase().replace(/['’]s?$/u, ''));
      }
    });
  }
  entities.delete('i');
  return entities;
}

/**
 * Returns whether every entity of `from` also appears as a word of `to`,
 * so "Spain" and "spain" agree but "Spain" and "France" do not.
 */
function entitiesAgree(from: QuestionFeatures, to: QuestionFeatures): boolean {
  for (const entity of from.entities) {
    if (!to.allWords.has(entity) && !to.entities.has(entity)) {
      return false;
    }
  }
  return true;
}

/** Strips common English suffixes so "charged" and "charges" meet. */
function stem(word: string): string {
  if (word.length <= 4) {
    return word;
  }
  for (const suffix of ['ing', 'ed', 'es', 's', 'ly']) {
    if (word.endsWith(suffix) && word.length - suffix.length >= 3) {
      return word.slice(0, -suffix.length);
    }
  }
  return word;
}

function dice(a: Set<string>, b: Set<string>): number {
  if (a.size === 0 && b.size === 0) {
    return 1;
  }
  let shared = 0;
  for (const item of a) {
    if (b.has(item)) {
      shared++;
    }
  }
  return (2 * shared) / (a.size + b.size);
}

function sameSet(a: Set<string>, b: Set<string>): boolean {
  if (a.size !== b.size) {
    return false;
  }
  for (const item of a) {
    if (!b.has(item)) {
      return false;
    }
  }
  return true;
}
