/**
 * Unicode abuse: lone surrogates, null bytes, special-token strings, very
 * long single words, RTL overrides and combining-character floods. Token
 * counting must neither throw nor stall, must match the exact count where
 * the text has no long run, and the backend must answer such a request or
 * reject it cleanly, with nothing left reserved.
 */
import fc from 'fast-check';
import { countTokens as countExactTokens } from 'gpt-tokenizer/encoding/o200k_base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countTokens, MAX_RUN_CHARS } from '../../lib/tokens';
import { buildPrompt } from '../../server/prompt';
import { startFakeProvider, type FakeProvider } from '../fake-provider/index';
import {
  expectNoHeldReservation,
  startSecurityBackend,
} from '../security/helpers';
import {
  createTempDirectory,
  findEvent,
  postChat,
  readChatEvents,
  registerInstall,
  type TestBackend,
} from './helpers';

const PLAIN_TEXT = { disallowedSpecial: new Set<string>() };

const HOSTILE_TEXTS: Array<[string, string]> = [
  ['lone high surrogates', '\uD800\uD801 text \uDBFF'],
  ['lone low surrogates', '\uDC00 text \uDFFF\uDC00'],
  ['reversed surrogate pair', '\uDE00\uD83D'],
  ['null bytes', 'a\u0000b\u0000\u0000c'],
  [
    'special-token strings',
    '<|endoftext|><|im_start|>system<|im_end|><|fim_prefix|>',
  ],
  ['RTL override', 'invoice\u202Etxt.exe\u202C and \u2067isolate\u2069'],
  ['zero-width characters', 'pay\u200Bpal\u200D\uFEFF'],
  ['combining flood', `Z${'\u0336\u0335\u0334'.repeat(3_000)}`],
  ['long single word', 'x'.repeat(50_000)],
  ['long CJK run', '漢字'.repeat(20_000)],
  ['long emoji run', '👩‍👩‍👧‍👦'.repeat(5_000)],
  ['long whitespace', ' '.repeat(30_000)],
  ['surrogate pairs across the cut', '😀'.repeat(MAX_RUN_CHARS + 3)],
];

describe('countTokens on hostile text', () => {
  it.each(HOSTILE_TEXTS)('counts %s without throwing', (_label, text) => {
    expect(() => countTokens(text)).not.toThrow();
    expect(countTokens(text)).toBeGreaterThan(0);
  });

  it('matches the exact count when no run is long', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.string({ unit: 'grapheme', maxLength: 40 }),
            fc.string({ unit: 'binary', maxLength: 40 }),
            fc.constantFrom(' ', '\n', '\t', '<|endoftext|>', '\u0000'),
          ),
          { maxLength: 30 },
        ),
        (parts) => {
          const text = parts.join(' ');
          expect(countTokens(text)).toBe(countExactTokens(text, PLAIN_TEXT));
        },
      ),
      { numRuns: 300 },
    );
  });

  it.each([
    ['letters', 'a'.repeat(4_000)],
    ['CJK', '漢字'.repeat(2_000)],
    ['digits', '7'.repeat(4_000)],
    ['mixed word', 'abc123ДЖ'.repeat(500)],
    ['combining', `e${'\u0301'.repeat(4_000)}`],
  ])('stays within 2% of the exact count on a long %s run', (_label, text) => {
    const exact = countExactTokens(text, PLAIN_TEXT);
    const counted = countTokens(text);

    expect(Math.abs(counted - exact)).toBeLessThanOrEqual(
      Math.ceil(exact * 0.02) + 1,
    );
  });

  it('keeps a surrogate pair whole at a cut', () => {
    const text = `${'a'.repeat(MAX_RUN_CHARS - 1)}😀${'b'.repeat(10)}`;

    expect(countTokens(text)).toBe(
      countExactTokens(text.slice(0, MAX_RUN_CHARS + 1), PLAIN_TEXT) +
        countExactTokens(text.slice(MAX_RUN_CHARS + 1), PLAIN_TEXT),
    );
  });
});

describe('chat requests with hostile text', () => {
  let temp: ReturnType<typeof createTempDirectory>;
  let fake: FakeProvider;
  let backend: TestBackend;
  let installId: string;
  let token: string;

  beforeAll(async () => {
    temp = createTempDirectory();
    fake = await startFakeProvider();
    backend = await startSecurityBackend({ directory: temp.directory, fake });
    ({ installId, token } = await registerInstall(backend.url));
  });

  afterAll(async () => {
    await backend.stop({ drainTimeoutMs: 1_000 });
    await fake.close();
    temp.remove();
  });

  it.each(HOSTILE_TEXTS)(
    'answers %s in question and page, counted',
    async (_label, text) => {
      const question = `Explain this: ${text.slice(0, 30_000)}`;
      const pageContext = { title: text.slice(0, 1_000), url: 'u', text };
      fake.enqueue({ type: 'answer', text: 'Understood.' });

      const response = await postChat(backend.url, token, {
        question,
        tier: 'cheap',
        pageContext,
      });
      const events = await readChatEvents(response);

      expect(response.status).toBe(200);
      expect(findEvent(events, 'route').inputTokens).toBe(
        buildPrompt({ question, history: [], pageContext }).inputTokens,
      );
      expect(findEvent(events, 'done').finishReason).toBe('stop');
      await expectNoHeldReservation(backend, installId);
      expect((await fetch(`${backend.url}/healthz`)).status).toBe(200);
    },
  );

  it('rejects invalid UTF-8 bytes cleanly', async () => {
    const body = Buffer.concat([
      Buffer.from('{"question": "bad '),
      Buffer.from([0xff, 0xfe, 0xc0, 0x80, 0xed, 0xa0, 0x80]),
      Buffer.from('"}'),
    ]);
    fake.enqueue({ type: 'answer', text: 'Understood.' });

    const response = await fetch(`${backend.url}/v1/chat`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
      },
      body,
    });
    await response.text();

    expect([200, 400]).toContain(response.status);
    await expectNoHeldReservation(backend, installId);
  });
});
