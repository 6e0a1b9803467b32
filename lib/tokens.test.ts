import { decode, encode } from 'gpt-tokenizer/encoding/o200k_base';
import { describe, expect, it } from 'vitest';
import {
  countChatTokens,
  countTokens,
  MESSAGE_OVERHEAD_TOKENS,
  REPLY_PRIMER_TOKENS,
} from './tokens';

// Expected counts are the numbers of o200k_base tokens that gpt-tokenizer
// 4.0.0 produces, written out so that a change of encoding or of counting
// method (for example characters divided by four) fails here.
const KNOWN_COUNTS: ReadonlyArray<
  [label: string, text: string, tokens: number]
> = [
  ['ASCII words', 'hello world', 2],
  ['punctuation', 'Hello, world!', 4],
  ['single emoji', '😀', 1],
  ['emoji with skin tone', '👍🏽', 3],
  ['ZWJ family emoji', '👩‍👩‍👧‍👦', 11],
  ['ZWJ rainbow flag', '🏳️‍🌈', 6],
  ['Chinese', '你好，世界', 3],
  ['Japanese', '日本語のテキスト', 6],
  ['Korean', '한국어', 2],
];

describe('countTokens', () => {
  it.each(KNOWN_COUNTS)('counts %s', (_label, text, tokens) => {
    expect(countTokens(text)).toBe(tokens);
  });

  it.each(KNOWN_COUNTS)('round-trips %s through its tokens', (_label, text) => {
    const ids = encode(text);

    expect(decode(ids)).toBe(text);
    expect(ids).toHaveLength(countTokens(text));
  });

  it('counts the empty string as 0', () => {
    expect(countTokens('')).toBe(0);
  });

  it.each([
    ['<|endoftext|>', 7],
    ['<|endofprompt|>', 7],
    ['<|im_start|>user\nhi<|im_end|>', 15],
  ])('counts special-token string %j as text', (text, tokens) => {
    expect(() => countTokens(text)).not.toThrow();
    expect(countTokens(text)).toBe(tokens);
    expect(countTokens(text)).toBeGreaterThan(1);
  });

  it('counts <|endoftext|> as more than its special token', () => {
    const asSpecialToken = encode('<|endoftext|>', { allowedSpecial: 'all' });

    expect(asSpecialToken).toHaveLength(1);
    expect(countTokens('<|endoftext|>')).toBeGreaterThan(asSpecialToken.length);
  });

  it('counts special-token strings inside prose', () => {
    const prose = 'Why does my parser stop at <|endoftext|> in the file?';

    expect(countTokens(prose)).toBeGreaterThan(
      countTokens('Why does my parser stop at  in the file?'),
    );
  });

  it.each([
    ['null byte', '\u0000', 1],
    ['null byte between letters', 'a\u0000b', 3],
    ['lone high surrogate', '\uD800', 1],
    ['lone low surrogate between letters', 'x\uDC00y', 3],
  ])('counts %s without throwing', (_label, text, tokens) => {
    expect(() => countTokens(text)).not.toThrow();
    expect(countTokens(text)).toBe(tokens);
  });
});

describe('countChatTokens', () => {
  it('counts only the reply primer for no messages', () => {
    expect(countChatTokens([])).toBe(REPLY_PRIMER_TOKENS);
  });

  it('adds the per-message overhead', () => {
    const messages = [
      { role: 'user', content: 'hello world' },
      { role: 'assistant', content: 'Hello, world!' },
      { role: 'user', content: '' },
    ];

    expect(countChatTokens(messages)).toBe(
      REPLY_PRIMER_TOKENS + 3 * MESSAGE_OVERHEAD_TOKENS + 2 + 4 + 0,
    );
  });

  it('counts one short message as 9 tokens', () => {
    expect(countChatTokens([{ role: 'user', content: 'hello world' }])).toBe(9);
  });
});
