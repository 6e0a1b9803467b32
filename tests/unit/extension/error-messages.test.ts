import { describe, expect, it } from 'vitest';
import type { AnswerErrorCode } from '../../../lib/extension/database';
import {
  describeError,
  formatResetTime,
} from '../../../lib/extension/error-messages';

const OPTIONS = {
  backendUrl: 'http://127.0.0.1:8787',
  locale: 'en-US',
  timeZone: 'UTC',
};

const ALL_CODES: AnswerErrorCode[] = [
  'invalid_request',
  'unauthorized',
  'not_found',
  'allowance_exhausted',
  'rate_limited',
  'prompt_too_large',
  'upstream_failed',
  'upstream_timeout',
  'internal_error',
  'backend_unreachable',
  'backend_timeout',
  'invalid_response',
  'stream_interrupted',
  'background_disconnected',
  'extension_failed',
];

describe('describeError', () => {
  it.each(ALL_CODES)('writes a sentence for %s', (code) => {
    const sentence = describeError({ code, message: 'Detail.' }, OPTIONS);
    expect(sentence).toMatch(/^[A-Z].*\.$/);
    expect(sentence).not.toContain(code);
  });

  it('gives the reset time of the allowance', () => {
    expect(
      describeError(
        { code: 'allowance_exhausted', resetAt: '2026-03-05T14:30:00.000Z' },
        OPTIONS,
      ),
    ).toBe(
      'You have used all your free tokens for this period. Your allowance resets on Mar 5, 2026, 2:30 PM.',
    );
  });

  it('gives the tokens left when some remain', () => {
    expect(
      describeError(
        {
          code: 'allowance_exhausted',
          resetAt: '2026-03-05T14:30:00.000Z',
          remaining: 1301,
        },
        OPTIONS,
      ),
    ).toBe(
      'This question needs more tokens than the 1,301 you have left this period. Ask with the cheap model, or ask a shorter question.',
    );
  });

  it('treats zero remaining as used up', () => {
    expect(
      describeError({ code: 'allowance_exhausted', remaining: 0 }, OPTIONS),
    ).toBe(
      'You have used all your free tokens for this period. Your allowance resets at the start of the next period.',
    );
  });

  it('copes without a reset time', () => {
    expect(describeError({ code: 'allowance_exhausted' }, OPTIONS)).toBe(
      'You have used all your free tokens for this period. Your allowance resets at the start of the next period.',
    );
  });

  it('gives the wait of a rate limit', () => {
    expect(
      describeError({ code: 'rate_limited', retryAfterSeconds: 7.2 }, OPTIONS),
    ).toBe(
      'Too many questions in a short time. Wait 8 seconds, then send it again.',
    );
  });

  it.each([
    {
      code: 'upstream_failed' as const,
      retryAfterSeconds: 44.5,
      sentence:
        'The AI model failed to answer. Send the question again in 45 seconds.',
    },
    {
      code: 'upstream_failed' as const,
      retryAfterSeconds: 121,
      sentence:
        'The AI model failed to answer. Send the question again in about 3 minutes.',
    },
    {
      code: 'upstream_timeout' as const,
      retryAfterSeconds: 30,
      sentence:
        'The AI model took too long to answer. Send the question again in 30 seconds.',
    },
    {
      code: 'upstream_timeout' as const,
      retryAfterSeconds: 600,
      sentence:
        'The AI model took too long to answer. Send the question again in about 10 minutes.',
    },
  ])(
    'gives the $code wait of $retryAfterSeconds s',
    ({ code, retryAfterSeconds, sentence }) => {
      expect(describeError({ code, retryAfterSeconds }, OPTIONS)).toBe(
        sentence,
      );
    },
  );

  it.each([undefined, 0, 1, -3, Number.NaN])(
    'asks for a moment with a wait of %s',
    (retryAfterSeconds) => {
      expect(
        describeError({ code: 'upstream_failed', retryAfterSeconds }, OPTIONS),
      ).toBe(
        'The AI model failed to answer. Send the question again in a moment.',
      );
    },
  );

  it('names the backend that is unreachable', () => {
    expect(describeError({ code: 'backend_unreachable' }, OPTIONS)).toContain(
      'http://127.0.0.1:8787',
    );
  });
});

describe('formatResetTime', () => {
  it('ignores an invalid time', () => {
    expect(formatResetTime('soon', OPTIONS)).toBeUndefined();
    expect(formatResetTime(undefined, OPTIONS)).toBeUndefined();
  });
});
