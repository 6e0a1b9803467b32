import { describe, expect, it } from 'vitest';
import {
  isRetryableStatus,
  joinUrl,
  parseRetryAfter,
  toTokenCount,
  truncateDetail,
} from '../../../server/providers/provider-http';

const NOW = Date.parse('2026-03-01T12:00:00Z');

describe('parseRetryAfter', () => {
  it.each([
    ['7', 7],
    [' 12 ', 12],
    ['0', 0],
    ['1.5', 1.5],
    ['Sun, 01 Mar 2026 12:00:30 GMT', 30],
    ['Sun, 01 Mar 2026 12:00:00 GMT', 0],
    ['Sun, 01 Mar 2026 11:00:00 GMT', 0],
  ])('reads "%s" as %f s', (value, seconds) => {
    expect(parseRetryAfter(value, NOW)).toBe(seconds);
  });

  it.each([null, '', '  ', 'soon', '-5', '1e3'])('ignores %j', (value) => {
    expect(parseRetryAfter(value, NOW)).toBeUndefined();
  });

  it('rounds a date up to whole seconds', () => {
    expect(parseRetryAfter('Sun, 01 Mar 2026 12:00:01 GMT', NOW - 500)).toBe(2);
  });
});

describe('isRetryableStatus', () => {
  it.each([
    [408, true],
    [409, true],
    [429, true],
    [500, true],
    [503, true],
    [529, true],
    [400, false],
    [401, false],
    [403, false],
    [404, false],
    [413, false],
  ])('treats %i as retryable: %s', (status, expected) => {
    expect(isRetryableStatus(status)).toBe(expected);
  });
});

describe('joinUrl', () => {
  it.each([
    [
      'http://127.0.0.1:1/a',
      '/v1/messages',
      'http://127.0.0.1:1/a/v1/messages',
    ],
    [
      'http://127.0.0.1:1/a/',
      'v1/messages',
      'http://127.0.0.1:1/a/v1/messages',
    ],
    ['http://127.0.0.1:1//', '//x', 'http://127.0.0.1:1/x'],
  ])('joins %s and %s', (base, path, expected) => {
    expect(joinUrl(base, path)).toBe(expected);
  });
});

describe('toTokenCount', () => {
  it.each([
    [12, 12],
    [12.6, 13],
    [0, 0],
    [-3, 0],
    [Number.NaN, 0],
    [Number.POSITIVE_INFINITY, 0],
    ['12', 0],
    [undefined, 0],
    [null, 0],
  ])('reads %s as %i', (value, expected) => {
    expect(toTokenCount(value)).toBe(expected);
  });
});

describe('truncateDetail', () => {
  it('keeps short text', () => {
    expect(truncateDetail('short')).toBe('short');
  });

  it('cuts long text with an ellipsis', () => {
    const cut = truncateDetail('x'.repeat(1000));

    expect(cut).toHaveLength(301);
    expect(cut.endsWith('…')).toBe(true);
  });
});
