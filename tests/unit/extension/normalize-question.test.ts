import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalizeQuestion } from '../../../lib/extension/normalize-question';

// Pairs that mean the same question and must share cache entries.
const MUST_MERGE: Array<[string, string, string]> = [
  ['case', 'What is the capital of France?', 'what is the capital of france'],
  [
    'white space',
    '  What   is\tthe capital\nof France ? ',
    'What is the capital of France',
  ],
  ['no-break space', 'What\u00A0is love?', 'what is love'],
  ['full-width forms', 'Ｗｈａｔ ｉｓ ２＋２？', 'What is 2+2?'],
  ['ligature', 'ﬁle formats for images', 'file formats for images'],
  ['composed accent', 'Where is the cafe\u0301?', 'Where is the café?'],
  ['curly apostrophe', 'What’s the time?', "What's the time"],
  ['curly quotes', 'Define “idempotent”', 'define "idempotent"'],
  ['repeated marks', 'Tell me a joke!!!', 'tell me a joke'],
  ['ellipsis', 'Tell me a story…', 'tell me a story...'],
  ['ideographic full stop', '東京はどこ。', '東京はどこ'],
  ['inverted question mark', '¿Qué hora es?', 'qué hora es'],
  ['zero-width space', 'hello\u200Bworld?', 'helloworld'],
  [
    'caps lock',
    'WHAT IS THE CAPITAL OF FRANCE',
    'what is the capital of france?',
  ],
  ['same acronym', 'What does NASA do?', 'what does NASA do'],
  ['full-width digits', 'What is １０ km in miles', 'What is 10 km in miles?'],
];

// Pairs that differ in a number, a negation or a named entity.
const MUST_NOT_MERGE: Array<[string, string, string]> = [
  ['different sum', 'What is 2+2?', 'What is 2+3?'],
  ['extra digit', 'Convert 10 km to miles', 'Convert 100 km to miles'],
  ['decimal point', 'Is 3.14 close to pi?', 'Is 314 close to pi?'],
  ['swapped digits', 'What happened in 1989?', 'What happened in 1998?'],
  ['factorial', 'What is 5!', 'What is 5?'],
  ['double factorial', 'What is 5!!', 'What is 5!'],
  ['bracket factorial', 'Expand (n+1)!', 'Expand (n+1)'],
  ['superscript', 'What is 10²?', 'What is 102?'],
  ['subscript', 'Define x₁₀', 'Define x10'],
  ['vulgar fraction', 'Convert 1½ cups to ml', 'Convert 11⁄2 cups to ml'],
  ['negative number', 'Is -5 prime?', 'Is 5 prime?'],
  ['not', 'Is it safe to eat raw eggs?', 'Is it not safe to eat raw eggs?'],
  ["n't", 'Should I use TypeScript?', "Shouldn't I use TypeScript?"],
  [
    'cannot',
    'Can I take ibuprofen with food?',
    'Cannot I take ibuprofen with food?',
  ],
  ["don't", 'Why do cats purr?', "Why don't cats purr?"],
  ['prefix', 'Is it possible?', 'Is it impossible?'],
  ['never', 'Did Rome ever fall?', 'Did Rome never fall?'],
  ['company', 'Who founded Microsoft?', 'Who founded Apple?'],
  ['city', 'Tell me about Paris', 'Tell me about London'],
  ['spelling of a name', 'Who is John Smith?', 'Who is Jon Smith?'],
  [
    'acronym against word',
    'Where is the US embassy?',
    'Where is the us embassy?',
  ],
  ['IT against it', 'Is IT a good career?', 'Is it a good career?'],
  ['unit', 'Convert 5 km to miles', 'Convert 5 m to miles'],
];

describe('normalizeQuestion', () => {
  it.each(MUST_MERGE)('merges %s', (_case, first, second) => {
    expect(normalizeQuestion(first)).toBe(normalizeQuestion(second));
  });

  it.each(MUST_NOT_MERGE)('keeps apart %s', (_case, first, second) => {
    expect(normalizeQuestion(first)).not.toBe(normalizeQuestion(second));
  });

  it('returns the expected form', () => {
    expect(normalizeQuestion('  What’s   the capital of France?! ')).toBe(
      "what's the capital of france",
    );
    expect(normalizeQuestion('What is 10²?')).toBe('what is 10^2');
    expect(normalizeQuestion('What does the US export?')).toBe(
      'what does the US export',
    );
  });

  it('keeps an empty question empty', () => {
    expect(normalizeQuestion('')).toBe('');
    expect(normalizeQuestion(' ?! ')).toBe('');
  });

  it('is idempotent', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 60 }), (text) => {
        const once = normalizeQuestion(text);
        expect(normalizeQuestion(once)).toBe(once);
      }),
      { numRuns: 500 },
    );
  });

  it('never changes the digits of a question', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 20 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        (prefix, number) => {
          const normalized = normalizeQuestion(`${prefix} ${number} items`);
          expect(normalized).toContain(`${number} items`);
        },
      ),
      { numRuns: 300 },
    );
  });
});
