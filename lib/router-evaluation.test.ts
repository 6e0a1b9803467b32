import { describe, expect, it } from 'vitest';
import {
  bootstrapCostReduction,
  computeRandomCostReduction,
  findCheapestPoint,
  isHeldOut,
  measureAtThreshold,
  parseRoutingRecords,
  type RoutingRecord,
  splitRecords,
  sweepThresholds,
} from './router-evaluation';

function record(weakCorrect: boolean, strongCorrect: boolean): RoutingRecord {
  return {
    prompt: `${weakCorrect}-${strongCorrect}`,
    weakCorrect,
    strongCorrect,
  };
}

// Two prompts need premium, one is solved by both, one by neither.
const RECORDS = [
  record(false, true),
  record(false, true),
  record(true, true),
  record(false, false),
];

describe('parseRoutingRecords', () => {
  it('parses records and skips blank lines', () => {
    const text =
      '{"prompt":"a","weak_correct":true,"strong_correct":false}\n\n{"prompt":"b","weak_correct":false,"strong_correct":true,"domain":"x"}\n';

    expect(parseRoutingRecords(text, 'set.jsonl')).toEqual([
      { prompt: 'a', weakCorrect: true, strongCorrect: false },
      { prompt: 'b', weakCorrect: false, strongCorrect: true },
    ]);
  });

  it('names the line that is not JSON', () => {
    const text =
      '{"prompt":"a","weak_correct":true,"strong_correct":true}\n{oops';

    expect(() => parseRoutingRecords(text, 'set.jsonl')).toThrow(
      'set.jsonl line 2 is not valid JSON.',
    );
  });

  it('names the line that lacks a label', () => {
    expect(() =>
      parseRoutingRecords('{"prompt":"a","weak_correct":true}', 'set.jsonl'),
    ).toThrow('set.jsonl line 1 needs a string "prompt"');
  });
});

describe('measureAtThreshold', () => {
  it('uses strong labels above and weak labels below', () => {
    const result = measureAtThreshold([0.9, 0.1, 0.2, 0.3], RECORDS, 0.5);

    expect(result.premiumShare).toBe(0.25);
    expect(result.accuracy).toBe(0.5);
    expect(result.qualityRetained).toBeCloseTo(0.5 / 0.75, 12);
  });
});

describe('sweepThresholds', () => {
  it('moves tied scores together', () => {
    const points = sweepThresholds([0.5, 0.5, 0.2, 0.1], RECORDS);

    expect(points.map((point) => point.premiumShare)).toEqual([
      0, 0.5, 0.75, 1,
    ]);
    expect(points.map((point) => point.accuracy)).toEqual([
      0.25, 0.75, 0.75, 0.75,
    ]);
  });
});

describe('findCheapestPoint', () => {
  it('finds the smallest share reaching the target', () => {
    const point = findCheapestPoint([0.9, 0.8, 0.1, 0.2], RECORDS, 0.95);

    expect(point.premiumShare).toBe(0.5);
    expect(point.threshold).toBe(0.8);
  });

  it('needs more premium from a reversed router', () => {
    const point = findCheapestPoint([0.1, 0.2, 0.9, 0.8], RECORDS, 0.95);

    expect(point.premiumShare).toBe(1);
  });
});

describe('computeRandomCostReduction', () => {
  it('solves weak + p * (strong - weak) = target * strong', () => {
    // weak 0.25, strong 0.75: p = (0.95 * 0.75 - 0.25) / 0.5 = 0.925
    expect(computeRandomCostReduction(RECORDS, 0.95)).toBeCloseTo(0.075, 12);
  });

  it('is 1 when cheap already reaches the target', () => {
    expect(computeRandomCostReduction([record(true, true)], 0.95)).toBe(1);
  });
});

describe('splitRecords', () => {
  it('holds out about 30% and never splits a prompt', () => {
    const records = Array.from({ length: 2_000 }, (_value, index) => ({
      prompt: `question ${index}`,
      weakCorrect: true,
      strongCorrect: true,
    }));
    const { training, heldOut } = splitRecords(records);

    expect(training.length + heldOut.length).toBe(2_000);
    expect(heldOut.length).toBeGreaterThan(500);
    expect(heldOut.length).toBeLessThan(700);
    expect(heldOut.every((entry) => isHeldOut(entry.prompt))).toBe(true);
    expect(training.some((entry) => isHeldOut(entry.prompt))).toBe(false);
  });
});

describe('bootstrapCostReduction', () => {
  const options = { resamples: 200, seed: 7, coverage: 0.9 };
  // A perfect score (the prompts that need premium score 1) and a useless one.
  const perfect = RECORDS.map((entry) =>
    entry.strongCorrect && !entry.weakCorrect ? 1 : 0,
  );
  const constant = RECORDS.map(() => 0);

  it('gives the same intervals for the same seed', () => {
    expect(bootstrapCostReduction(perfect, constant, RECORDS, options)).toEqual(
      bootstrapCostReduction(perfect, constant, RECORDS, options),
    );
  });

  it('brackets the figure of the full sample', () => {
    const full = 1 - findCheapestPoint(perfect, RECORDS).premiumShare;
    const { router } = bootstrapCostReduction(
      perfect,
      constant,
      RECORDS,
      options,
    );

    expect(router.low).toBeLessThanOrEqual(full);
    expect(router.high).toBeGreaterThanOrEqual(full);
  });

  it('finds no lead over an identical baseline', () => {
    const { leadOverBaseline } = bootstrapCostReduction(
      perfect,
      perfect,
      RECORDS,
      options,
    );

    expect(leadOverBaseline).toEqual({ low: 0, high: 0 });
  });

  it('finds a lead for a perfect router over a constant one', () => {
    const { leadOverBaseline } = bootstrapCostReduction(
      perfect,
      constant,
      RECORDS,
      options,
    );

    expect(leadOverBaseline.low).toBeGreaterThanOrEqual(0);
    expect(leadOverBaseline.high).toBeGreaterThan(0);
  });

  it.each([
    [{ resamples: 0, seed: 1, coverage: 0.9 }, /Invalid resamples 0/],
    [{ resamples: 1.5, seed: 1, coverage: 0.9 }, /Invalid resamples 1.5/],
    [{ resamples: 10, seed: 1, coverage: 1 }, /Invalid coverage 1/],
    [{ resamples: 10, seed: 1, coverage: Number.NaN }, /Invalid coverage NaN/],
  ])('rejects options %j', (badOptions, message) => {
    expect(() =>
      bootstrapCostReduction(perfect, constant, RECORDS, badOptions),
    ).toThrow(message);
  });
});
