import { beforeEach, describe, expect, it } from 'vitest';
import { fakeBrowser } from 'wxt/testing';
import {
  DEFAULT_CACHE_MAX_BYTES,
  PREMIUM_WHEN_NEEDED_SCORE,
  parseSettings,
  readSettings,
  resolveRequestedTier,
  updateSettings,
} from '../../../lib/extension/settings';

describe('parseSettings', () => {
  it('fills defaults', () => {
    expect(parseSettings(undefined)).toEqual({
      routing: 'automatic',
      cacheEnabled: true,
      cacheMaxAgeDays: 7,
      cacheMaxBytes: DEFAULT_CACHE_MAX_BYTES,
      historyRetentionDays: 0,
    });
  });

  it('keeps valid fields beside an invalid one', () => {
    const settings = parseSettings({ routing: 'cheap', cacheMaxAgeDays: -1 });
    expect(settings.routing).toBe('cheap');
    expect(settings.cacheMaxAgeDays).toBe(7);
  });
});

describe('updateSettings', () => {
  beforeEach(() => fakeBrowser.reset());

  it('merges a change into storage', async () => {
    await updateSettings({ cacheEnabled: false });
    await updateSettings({ routing: 'premium-when-needed' });
    const settings = await readSettings();
    expect(settings.cacheEnabled).toBe(false);
    expect(settings.routing).toBe('premium-when-needed');
  });
});

describe('resolveRequestedTier', () => {
  it.each([
    ['auto', 'automatic', 0.9, 'auto'],
    ['auto', 'cheap', 0.9, 'cheap'],
    ['premium', 'cheap', 0.1, 'premium'],
    ['auto', 'premium-when-needed', PREMIUM_WHEN_NEEDED_SCORE, 'premium'],
    ['auto', 'premium-when-needed', 0.1, 'auto'],
    ['cheap', 'premium-when-needed', 0.9, 'cheap'],
  ] as const)(
    '%s under %s at %s sends %s',
    (requested, preference, routerScore, expected) => {
      expect(resolveRequestedTier({ requested, preference, routerScore })).toBe(
        expected,
      );
    },
  );
});
