import { describe, expect, it } from 'vitest';
import {
  buildCacheKey,
  hashConversation,
  hashPageContext,
  listLookupHistories,
  type CacheKeyInput,
} from '../../../lib/extension/cache-key';
import type { ChatMessage } from '../../../lib/protocol';

const CONVERSATION_A: ChatMessage[] = [
  { role: 'user', content: 'List three fruits.' },
  { role: 'assistant', content: 'Apple, banana, cherry.' },
];
const CONVERSATION_B: ChatMessage[] = [
  { role: 'user', content: 'List three planets.' },
  { role: 'assistant', content: 'Mercury, Venus, Earth.' },
];

const BASE: CacheKeyInput = {
  installId: 'install-1',
  question: 'And the second one?',
  history: CONVERSATION_A,
  tier: 'cheap',
  model: 'gemini:gemini-3-flash',
};

describe('buildCacheKey', () => {
  it('is a SHA-256 hex digest', async () => {
    expect(await buildCacheKey(BASE)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('is stable for the same input', async () => {
    expect(await buildCacheKey(BASE)).toBe(await buildCacheKey({ ...BASE }));
  });

  it('matches questions that normalize alike', async () => {
    const variant = { ...BASE, question: '  and the  second one!' };
    expect(await buildCacheKey(variant)).toBe(await buildCacheKey(BASE));
  });

  const isolatedBy: Array<[string, Partial<CacheKeyInput>]> = [
    ['install', { installId: 'install-2' }],
    ['conversation', { history: CONVERSATION_B }],
    ['empty conversation', { history: [] }],
    ['tier', { tier: 'premium' }],
    ['model', { model: 'gemini:gemini-2.5-flash' }],
    ['unknown model', { model: undefined }],
    [
      'page context',
      {
        pageContext: {
          title: 'Fruit',
          url: 'https://example.test/',
          text: 'Fruit.',
        },
      },
    ],
    ['question', { question: 'And the third one?' }],
  ];

  it.each(isolatedBy)('differs by %s', async (_field, change) => {
    const changed = await buildCacheKey({ ...BASE, ...change });
    expect(changed).not.toBe(await buildCacheKey(BASE));
  });

  it('differs when an answer in the history differs', async () => {
    const history: ChatMessage[] = [
      CONVERSATION_A[0] as ChatMessage,
      { role: 'assistant', content: 'Apple, banana, kiwi.' },
    ];
    expect(await buildCacheKey({ ...BASE, history })).not.toBe(
      await buildCacheKey(BASE),
    );
  });

  it('differs when roles in the history swap', async () => {
    const swapped = CONVERSATION_A.map((message) => ({
      ...message,
      role:
        message.role === 'user' ? ('assistant' as const) : ('user' as const),
    }));
    expect(await hashConversation(swapped)).not.toBe(
      await hashConversation(CONVERSATION_A),
    );
  });
});

describe('hashPageContext', () => {
  it('names a missing page context', async () => {
    expect(await hashPageContext(undefined)).toBe('none');
  });

  it('differs by page text', async () => {
    const page = { title: 'T', url: 'https://example.test/', text: 'one' };
    expect(await hashPageContext(page)).not.toBe(
      await hashPageContext({ ...page, text: 'two' }),
    );
  });
});

describe('listLookupHistories', () => {
  it('lists only the full history for a new question', () => {
    expect(listLookupHistories('What is 2+2?', CONVERSATION_A)).toEqual([
      CONVERSATION_A,
    ]);
  });

  it('adds the history before an earlier identical question', () => {
    const history: ChatMessage[] = [
      { role: 'user', content: 'What is the capital of France?' },
      { role: 'assistant', content: 'Paris.' },
      { role: 'user', content: 'Prove Fermat’s little theorem.' },
      { role: 'assistant', content: 'Proof: ...' },
    ];
    expect(
      listLookupHistories('what is the capital of france', history),
    ).toEqual([history, []]);
  });

  it('lists later repeats first', () => {
    const history: ChatMessage[] = [
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello!' },
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello again!' },
    ];
    expect(listLookupHistories('Hi', history)).toEqual([
      history,
      history.slice(0, 2),
      [],
    ]);
  });

  it('ignores assistant turns with the same text', () => {
    const history: ChatMessage[] = [
      { role: 'user', content: 'Say "hi"' },
      { role: 'assistant', content: 'Hi' },
    ];
    expect(listLookupHistories('Hi', history)).toEqual([history]);
  });
});
