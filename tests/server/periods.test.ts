import { describe, expect, it } from 'vitest';
import { addMonthsClamped, findPeriod } from '../../server/periods';

describe('addMonthsClamped', () => {
  it.each([
    ['2025-01-31T10:00:00.000Z', 1, '2025-02-28T10:00:00.000Z'],
    ['2024-01-31T10:00:00.000Z', 1, '2024-02-29T10:00:00.000Z'],
    ['2025-01-31T10:00:00.000Z', 2, '2025-03-31T10:00:00.000Z'],
    ['2025-03-31T23:59:59.000Z', 1, '2025-04-30T23:59:59.000Z'],
    ['2025-12-15T00:00:00.000Z', 1, '2026-01-15T00:00:00.000Z'],
    ['2025-11-30T05:06:07.000Z', 14, '2027-01-30T05:06:07.000Z'],
    ['2025-05-31T00:00:00.000Z', 0, '2025-05-31T00:00:00.000Z'],
  ])('adds to %s %i months', (anchor, months, expected) => {
    expect(addMonthsClamped(new Date(anchor), months).toISOString()).toBe(
      expected,
    );
  });
});

describe('findPeriod', () => {
  const registeredAt = new Date('2025-01-31T10:20:30.000Z');

  it.each([
    {
      now: '2025-01-31T10:20:30.000Z',
      start: '2025-01-31T10:20:30.000Z',
      end: '2025-02-28T10:20:30.000Z',
      index: 0,
    },
    {
      now: '2025-02-28T10:20:29.000Z',
      start: '2025-01-31T10:20:30.000Z',
      end: '2025-02-28T10:20:30.000Z',
      index: 0,
    },
    {
      now: '2025-02-28T10:20:30.000Z',
      start: '2025-02-28T10:20:30.000Z',
      end: '2025-03-31T10:20:30.000Z',
      index: 1,
    },
    {
      now: '2025-03-31T10:20:29.000Z',
      start: '2025-02-28T10:20:30.000Z',
      end: '2025-03-31T10:20:30.000Z',
      index: 1,
    },
    {
      now: '2026-02-01T00:00:00.000Z',
      start: '2026-01-31T10:20:30.000Z',
      end: '2026-02-28T10:20:30.000Z',
      index: 12,
    },
    {
      now: '2024-12-01T00:00:00.000Z',
      start: '2025-01-31T10:20:30.000Z',
      end: '2025-02-28T10:20:30.000Z',
      index: 0,
    },
  ])('places $now in period $index', ({ now, start, end, index }) => {
    const period = findPeriod(registeredAt, new Date(now));

    expect(period.start.toISOString()).toBe(start);
    expect(period.end.toISOString()).toBe(end);
    expect(period.index).toBe(index);
  });

  it('contains every day of two years', () => {
    const registered = new Date('2024-02-29T12:00:00.000Z');
    for (let day = 0; day < 730; day++) {
      const now = new Date(registered.getTime() + day * 86_400_000 + 3_600_000);
      const period = findPeriod(registered, now);
      expect(period.start.getTime()).toBeLessThanOrEqual(now.getTime());
      expect(period.end.getTime()).toBeGreaterThan(now.getTime());
    }
  });
});
