import { statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { WORD_BUCKETS } from './router-features';
import {
  computeWordRates,
  type KindModel,
  type RouterWeights,
  validateRouterWeights,
  type WordTable,
} from './router-model';
import { ROUTER_WEIGHTS } from './router-weights';

const EMPTY_TABLE: WordTable = {
  cheapFailRate: [],
  premiumSuccessRate: [],
  weight: [],
  overallCheapFailRate: 0,
  overallPremiumSuccessRate: 0,
};

function withModel(model: Partial<KindModel>): RouterWeights {
  return {
    ...ROUTER_WEIGHTS,
    multipleChoice: { ...ROUTER_WEIGHTS.multipleChoice, ...model },
  };
}

describe('validateRouterWeights', () => {
  it('accepts the shipped weights', () => {
    expect(() => validateRouterWeights(ROUTER_WEIGHTS)).not.toThrow();
  });

  it('accepts a model without a word table', () => {
    expect(() =>
      validateRouterWeights(withModel({ wordTable: EMPTY_TABLE })),
    ).not.toThrow();
  });

  it('rejects a word table of the wrong size', () => {
    const wordTable: WordTable = {
      ...EMPTY_TABLE,
      cheapFailRate: new Array<number>(WORD_BUCKETS * 2).fill(0),
      premiumSuccessRate: new Array<number>(WORD_BUCKETS * 2).fill(0),
      weight: new Array<number>(WORD_BUCKETS * 2).fill(0),
    };

    expect(() => validateRouterWeights(withModel({ wordTable }))).toThrow(
      /word tables of 2048, 2048, 2048 entries/,
    );
  });

  it('rejects word table arrays of unequal sizes', () => {
    const wordTable: WordTable = {
      ...EMPTY_TABLE,
      cheapFailRate: new Array<number>(WORD_BUCKETS).fill(0),
    };

    expect(() => validateRouterWeights(withModel({ wordTable }))).toThrow(
      /multipleChoice have word tables/,
    );
  });

  it('rejects a regression with missing weights', () => {
    const cheapFails = { bias: 0, weights: [1, 2, 3] };

    expect(() => validateRouterWeights(withModel({ cheapFails }))).toThrow(
      /regression weights/,
    );
  });

  it('rejects weights trained on other inputs', () => {
    const weights = { ...ROUTER_WEIGHTS, inputNames: ['logLength'] };

    expect(() => validateRouterWeights(weights)).toThrow(/other inputs/);
  });
});

describe('router weights file', () => {
  // The weights ship in the extension's background bundle.
  it('stays under 60 KB of source', () => {
    const bytes = statSync(
      new URL('./router-weights.ts', import.meta.url),
    ).size;

    expect(bytes).toBeLessThan(60 * 1024);
  });
});

describe('computeWordRates', () => {
  it('returns the overall rates without a word table', () => {
    expect(computeWordRates(EMPTY_TABLE, [1, 2, 3])).toEqual([0, 0]);
  });

  it('weights the known buckets by their inverse document frequency', () => {
    const table: WordTable = {
      cheapFailRate: [0.2, 0.8, 0.5],
      premiumSuccessRate: [0.9, 0.5, 0.7],
      weight: [1, 3, 0],
      overallCheapFailRate: 0.3,
      overallPremiumSuccessRate: 0.8,
    };
    const [cheapFail, premiumSuccess] = computeWordRates(table, [0, 1, 2]);

    expect(cheapFail).toBeCloseTo((0.2 + 3 * 0.8) / 4);
    expect(premiumSuccess).toBeCloseTo((0.9 + 3 * 0.5) / 4);
  });
});
