import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { routeDecisionSchema } from './protocol';
import { DEFAULT_PREMIUM_THRESHOLD, routeQuestion } from './router';

const TRAIN_PROBLEM =
  'A train leaves at 3 pm at 60 km/h and another leaves the same station at 4 pm at 90 km/h on the same track. A third train leaves at 5 pm at 120 km/h. When does each train catch up with the first, and how far from the station are they? Explain step by step.';

// [question, expected tier, a reason the decision must give]
const CASES: ReadonlyArray<[string, 'cheap' | 'premium', string]> = [
  ['Hi!', 'cheap', 'greeting or small talk'],
  ['hello there, how are you?', 'cheap', 'greeting or small talk'],
  ['Thanks a lot', 'cheap', 'greeting or small talk'],
  ['What is the capital of France?', 'cheap', 'short factual question'],
  ['Who wrote Hamlet?', 'cheap', 'short factual question'],
  ['Translate "good morning" into Spanish.', 'cheap', 'translation'],
  ['How do you say thank you in Japanese?', 'cheap', 'translation'],
  ['Tell me a joke', 'cheap', 'short, general question'],
  [
    'Prove that there are infinitely many primes.',
    'premium',
    'asks for a proof or derivation',
  ],
  [
    'Show that the square root of 2 is irrational.',
    'premium',
    'asks for a proof or derivation',
  ],
  [
    'Write a Python function that merges two sorted lists in O(n) time.',
    'premium',
    'asks for code',
  ],
  [
    'Implement a thread-safe LRU cache in TypeScript with tests.',
    'premium',
    'asks for code',
  ],
  [
    'Why does this fail?\n```js\nconst x = [1, 2, 3].map((n) => n * 2);\nconsole.log(x[3].toFixed());\n```',
    'premium',
    'contains code',
  ],
  [
    'Hi! Can you prove that there are infinitely many primes?',
    'premium',
    'asks for a proof or derivation',
  ],
  [
    'Translate this Python function into Rust:\ndef add(a, b):\n    return a + b',
    'premium',
    'contains code',
  ],
  [TRAIN_PROBLEM, 'premium', 'multi-step maths word problem (7 quantities)'],
  [
    'Solve the integral of x^2 * e^(3x) dx and check the result by differentiating it.',
    'premium',
    'multi-step maths problem',
  ],
  [
    'Compare the trade-offs of microservices and a monolith for a team of five engineers, and analyze the operational costs in depth.',
    'premium',
    'asks for analysis',
  ],
  [
    `Here is our quarterly report. ${'Revenue grew while churn rose in two regions and costs moved. '.repeat(40)}What should we change?`,
    'premium',
    'very long question',
  ],
];

// [request for code] Each must be routed premium with "asks for code".
const CODE_REQUEST_CASES: readonly string[] = [
  'implement a sieve in TypeScript',
  'Implement a sieve in TypeScript.',
  'Write a sieve of Eratosthenes in Python',
  'Can you code a binary search in Rust?',
  'Give me a Kotlin implementation of quicksort',
  'How do I reverse a linked list in C++?',
  'Port this parser to C#',
  'Convert my shell loop into PowerShell',
  'Build a todo app with Node.js',
  'Write a bash script that renames every .txt file',
  'Fix the bug in my login form',
  'Refactor this class to use dependency injection',
  'Write a SQL query that lists customers without orders',
];

// [not a request for code, the reason it must give instead]
const NOT_CODE_CASES: ReadonlyArray<[string, string]> = [
  ['Write a poem about autumn', 'short, general question'],
  ['Implement the plan we discussed in the meeting', 'short, general question'],
  ['Create a program for my morning workout', 'short, general question'],
  [
    'How did people react to the new version of the iPhone?',
    'short, general question',
  ],
  ['Julia wants to join a program for nurses', 'short, general question'],
  ['Write a short story in Spanish', 'translation'],
  ['What is Python?', 'short factual question'],
];

describe('routeQuestion', () => {
  it.each(CASES)('routes %j', (question, tier, reason) => {
    const decision = routeQuestion({ question });

    expect(decision.tier).toBe(tier);
    expect(decision.reasons).toContain(reason);
  });

  it.each(CASES)('keeps the score of %j on its side', (question, tier) => {
    const { score } = routeQuestion({ question });

    if (tier === 'premium') {
      expect(score).toBeGreaterThanOrEqual(DEFAULT_PREMIUM_THRESHOLD);
    } else {
      expect(score).toBeLessThan(DEFAULT_PREMIUM_THRESHOLD);
    }
  });

  it.each(CODE_REQUEST_CASES)('routes code request %j premium', (question) => {
    const decision = routeQuestion({ question });

    expect(decision.tier).toBe('premium');
    expect(decision.reasons).toContain('asks for code');
  });

  it.each(NOT_CODE_CASES)('keeps %j cheap', (question, reason) => {
    const decision = routeQuestion({ question });

    expect(decision.tier).toBe('cheap');
    expect(decision.reasons).toContain(reason);
    expect(decision.reasons).not.toContain('asks for code');
  });

  it('routes the demo question premium for its code', () => {
    const decision = routeQuestion({
      question:
        'Prove that there are infinitely many prime numbers, then implement a sieve of Eratosthenes in TypeScript and analyze its time complexity step by step.',
    });

    expect(decision.tier).toBe('premium');
    expect(decision.reasons).toEqual([
      'asks for a proof or derivation',
      'asks for code',
      'asks for analysis',
    ]);
  });

  it('routes a one-step money problem cheap', () => {
    const decision = routeQuestion({
      question:
        'Katherine has 5 hanging baskets to fill. In each basket she wants to add 3 petunias and 2 sweet potato vines. The petunias cost $3.00 apiece and the sweet potato vines cost $2.50 apiece. How much will she spend filling all 5 hanging baskets?',
    });

    expect(decision.tier).toBe('cheap');
    expect(decision.reasons[0]).toMatch(/^simple maths word problem/);
    expect(decision.reasons).toContain('plain money arithmetic');
  });

  it('names a multiple-choice question', () => {
    const decision = routeQuestion({
      question:
        'Which planet is the largest?\nA. Mars\nB. Jupiter\nC. Venus\nD. Earth\nAnswer:',
    });

    expect(decision.reasons[0]).toBe('multiple-choice question');
    expect(decision.tier).toBe('cheap');
  });

  it('scores a long law question above a short fact one', () => {
    const short = routeQuestion({
      question: 'What is 7 times 8?\nA. 54\nB. 56\nC. 58\nD. 64\nAnswer:',
    });
    const long = routeQuestion({
      question: `A widower's unmarried daughter cared for him while he became senile. She made out a deed to herself as grantee and had him sign it as grantor when he did not know what he was doing. After his death, her married siblings sued to set the deed aside for mental incompetence. ${'The daughter argues that her years of care were consideration for the transfer. '.repeat(3)}Will the court likely strike down the deed?\nA. No, because the daughter had a right to the property in return for her work.\nB. No, because every deed is strongly presumed valid when signed.\nC. Yes, because the grantor lacked the capacity to make a deed.\nD. Yes, because the deed was not supported by consideration.\nAnswer:`,
    });

    expect(long.score).toBeGreaterThan(short.score);
  });

  it('names only what a question contains', () => {
    // "in return for" sets the codeSigns feature, but the question has
    // neither code nor formulas nor money, so none may be named.
    const decision = routeQuestion({
      question:
        'A widower signed a deed to his caretaking daughter while senile. Will the court likely strike down the deed?\nA. No, because the daughter had a right to the property in return for her work.\nB. No, because every deed is strongly presumed valid when signed.\nC. Yes, because the grantor lacked the capacity to make a deed.\nD. Yes, because the deed was not supported by consideration.\nAnswer:',
    });

    expect(decision.reasons).not.toContain('formulas or code in the question');
    expect(decision.reasons).not.toContain('no formulas or code');
    expect(decision.reasons).not.toContain('not a plain money sum');
  });

  it('names formulas only when some are present', () => {
    const questions = [
      'If x = 3 and y^2 = 16, what is x + y?\nA. 5\nB. 7\nC. 9\nD. 12\nAnswer:',
      'Which gas makes up most of the air?\nA. oxygen\nB. nitrogen\nC. argon\nD. carbon dioxide\nAnswer:',
    ];
    const [withFormula, without] = questions.map(
      (question) => routeQuestion({ question }).reasons,
    );

    expect(withFormula).not.toContain('no formulas or code');
    expect(without).not.toContain('formulas or code in the question');
  });

  it('applies the threshold argument', () => {
    const question = 'What is the capital of France?';
    const { score } = routeQuestion({ question });

    expect(routeQuestion({ question }, score).tier).toBe('premium');
    expect(routeQuestion({ question }, score + 1e-9).tier).toBe('cheap');
    expect(routeQuestion({ question }, 0).tier).toBe('premium');
    expect(routeQuestion({ question }, 1.01).tier).toBe('cheap');
  });

  it('raises the score after a long conversation', () => {
    const question = 'And what about the second point?';
    const history = [
      { role: 'user' as const, content: 'x '.repeat(7_000) },
      { role: 'assistant' as const, content: 'y '.repeat(7_000) },
    ];
    const alone = routeQuestion({ question });
    const followUp = routeQuestion({ question, history });

    expect(followUp.score).toBeGreaterThan(alone.score);
    expect(followUp.reasons).toContain('follows a long conversation');
  });

  it('raises the score for a follow-up on code', () => {
    const history = [
      {
        role: 'user' as const,
        content: 'function add(a, b) {\n  return a - b;\n}',
      },
      { role: 'assistant' as const, content: 'The function subtracts.' },
    ];
    const decision = routeQuestion({ question: 'Why is that wrong?', history });

    expect(decision.reasons).toEqual([
      'follows up on code in the conversation',
    ]);
  });

  it('searches only the latest turns for code', () => {
    const history = [
      { role: 'user' as const, content: 'const total = add(1, 2);' },
      ...Array.from({ length: 4 }, (_value, index) => ({
        role: index % 2 === 0 ? ('assistant' as const) : ('user' as const),
        content: 'Some plain prose about the weather.',
      })),
    ];
    const decision = routeQuestion({ question: 'Why is that?', history });

    expect(decision.reasons).not.toContain(
      'follows up on code in the conversation',
    );
  });

  it('raises the score for analysis of the page', () => {
    const question = 'Analyze the argument of this article.';
    const pageContext = {
      title: 'An article',
      url: 'https://example.com/article',
      text: 'The article text. '.repeat(200),
    };
    const withPage = routeQuestion({ question, pageContext });

    expect(withPage.reasons).toContain('asks for analysis of the page');
    expect(withPage.score).toBeGreaterThan(routeQuestion({ question }).score);
  });

  it('returns the same decision every time', () => {
    for (const [question] of CASES) {
      const first = routeQuestion({ question });

      for (let run = 0; run < 3; run += 1) {
        expect(routeQuestion({ question })).toEqual(first);
      }
    }
  });

  it.each([
    ['empty', ''],
    ['spaces', '   \n\t '],
    ['ZWJ emoji', '👩‍👩‍👧‍👦🏳️‍🌈'],
    ['null bytes', '\u0000\u0000a'],
    ['lone surrogates', '\uD800abc\uDC00'],
    ['right-to-left text', 'مرحبا كيف حالك؟'],
    ['combining marks', 'e\u0301\u0301\u0301'],
    ['huge text', 'word '.repeat(200_000)],
    ['huge digits', '9'.repeat(100_000)],
    ['many option lines', 'A. x\n'.repeat(50_000)],
  ])('handles %s input', (_label, question) => {
    const decision = routeQuestion({ question });

    expect(routeDecisionSchema.safeParse(decision).success).toBe(true);
    expect(decision.reasons.length).toBeGreaterThan(0);
  });

  it('returns a valid decision for any string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (question) => {
        const decision = routeQuestion({ question });

        expect(decision.score).toBeGreaterThanOrEqual(0);
        expect(decision.score).toBeLessThanOrEqual(1);
        expect(routeDecisionSchema.safeParse(decision).success).toBe(true);
      }),
    );
  });
});
