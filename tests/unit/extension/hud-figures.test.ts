import { beforeEach, describe, expect, it } from 'vitest';
import { fakeBrowser } from 'wxt/testing';
import {
  CHART_DAYS,
  buildWeekSeries,
  summarizeSavings,
} from '../../../lib/extension/hud-figures';
import {
  estimateQuestionsLeft,
  readQuestionStats,
  recordAnsweredQuestion,
  recordCacheSaving,
} from '../../../lib/extension/question-stats';
import { USAGE_STORAGE_KEY } from '../../../lib/extension/storage-keys';
import { describeBadge } from '../../../lib/extension/toolbar-badge';
import type { UsageSnapshot } from '../../../lib/extension/usage-snapshot';

const NOW = Date.parse('2026-03-10T15:00:00Z');

describe('buildWeekSeries', () => {
  it('fills seven days, oldest first', () => {
    const series = buildWeekSeries(
      [
        { date: '2026-03-10', cheap: 5, premium: 1, saved: 0 },
        { date: '2026-03-01', cheap: 99, premium: 0, saved: 0 },
        { date: '2026-03-06', cheap: 2, premium: 3, saved: 4 },
      ],
      NOW,
    );
    expect(series).toHaveLength(CHART_DAYS);
    expect(series[0]?.date).toBe('2026-03-04');
    expect(series.at(-1)).toEqual({
      date: '2026-03-10',
      cheap: 5,
      premium: 1,
      saved: 0,
    });
    expect(series[2]).toEqual({
      date: '2026-03-06',
      cheap: 2,
      premium: 3,
      saved: 4,
    });
    expect(series[1]).toEqual({
      date: '2026-03-05',
      cheap: 0,
      premium: 0,
      saved: 0,
    });
  });
});

describe('summarizeSavings', () => {
  it('sums this period only', () => {
    const savings = summarizeSavings(
      {
        periodStart: '2026-03-05T00:00:00Z',
        premiumWeight: 5,
        daily: [
          { date: '2026-03-04', cheap: 1000, premium: 0, saved: 1000 },
          { date: '2026-03-05', cheap: 100, premium: 50, saved: 30 },
          { date: '2026-03-06', cheap: 10, premium: 0, saved: 2 },
        ],
      },
      8,
    );
    expect(savings.byCache).toBe(40);
    expect(savings.byRouting).toBe(440);
  });

  it('saves nothing by routing at weight 1', () => {
    const savings = summarizeSavings(
      {
        periodStart: '2026-03-05T00:00:00Z',
        premiumWeight: 1,
        daily: [{ date: '2026-03-05', cheap: 100, premium: 0, saved: 0 }],
      },
      0,
    );
    expect(savings.byRouting).toBe(0);
  });
});

describe('question stats', () => {
  beforeEach(() => fakeBrowser.reset());

  it('averages answered questions', async () => {
    await recordAnsweredQuestion(100);
    await recordAnsweredQuestion(300);
    await recordCacheSaving(100);
    const stats = await readQuestionStats();
    expect(stats.questions).toBe(2);
    expect(stats.charged).toBe(400);
    expect(stats.cacheSaved).toBe(100);
    expect(estimateQuestionsLeft(1_000, stats)).toBe(5);
  });

  it('knows nothing before the first question', () => {
    expect(
      estimateQuestionsLeft(1_000, { questions: 0, charged: 0, cacheSaved: 0 }),
    ).toBeUndefined();
  });

  it('resets in a new period', async () => {
    const snapshot = (periodStart: string) => ({
      backendUrl: 'http://127.0.0.1:1',
      status: 'ok',
      updatedAt: periodStart,
      figures: {
        plan: 'free',
        allowance: 1000,
        used: 0,
        remaining: 1000,
        settledUsed: 0,
        settledRemaining: 1000,
        reserved: 0,
        liveTokens: 0,
        premiumWeight: 5,
        periodStart,
        resetAt: '2026-04-01T00:00:00Z',
        daily: [],
      },
    });
    await fakeBrowser.storage.local.set({
      [USAGE_STORAGE_KEY]: snapshot('2026-02-01T00:00:00Z'),
    });
    await recordAnsweredQuestion(100);
    await fakeBrowser.storage.local.set({
      [USAGE_STORAGE_KEY]: snapshot('2026-03-01T00:00:00Z'),
    });
    await recordAnsweredQuestion(50);

    const stats = await readQuestionStats();
    expect(stats.questions).toBe(1);
    expect(stats.charged).toBe(50);
    expect(stats.periodStart).toBe('2026-03-01T00:00:00Z');
  });
});

describe('describeBadge', () => {
  const snapshot = (remaining: number): UsageSnapshot => ({
    backendUrl: 'http://127.0.0.1:1',
    status: 'ok',
    updatedAt: '2026-03-01T00:00:00Z',
    figures: {
      plan: 'free',
      allowance: 1000,
      used: 1000 - remaining,
      remaining,
      settledUsed: 1000 - remaining,
      settledRemaining: remaining,
      reserved: 0,
      liveTokens: 0,
      premiumWeight: 5,
      periodStart: '2026-03-01T00:00:00Z',
      resetAt: '2026-04-01T00:00:00Z',
      daily: [],
    },
  });

  it.each([
    [500, ''],
    [100, ''],
    [99, '!'],
    [0, '0'],
  ])('with %s of 1000 left shows "%s"', (remaining, text) => {
    expect(describeBadge(snapshot(remaining)).text).toBe(text);
  });

  it('shows nothing without figures', () => {
    expect(describeBadge(undefined).text).toBe('');
  });
});
