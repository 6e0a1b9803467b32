import { beforeEach, describe, expect, it } from 'vitest';
import { fakeBrowser } from 'wxt/testing';
import { UsageMirror } from '../../../lib/extension/usage-mirror';
import {
  readUsageSnapshot,
  classifyRemaining,
} from '../../../lib/extension/usage-snapshot';
import { USAGE_STORAGE_KEY } from '../../../lib/extension/storage-keys';
import type { AnswerUsage } from '../../../lib/protocol';
import { countTokens } from '../../../lib/tokens';
import { usageFigures } from './support/protocol-server';

const BACKEND_URL = 'http://127.0.0.1:9';
const NOW = Date.parse('2026-01-10T12:00:00Z');

function answerUsage(overrides: Partial<AnswerUsage>): AnswerUsage {
  return {
    inputTokens: 20,
    cachedInputTokens: 0,
    outputTokens: 10,
    charged: 30,
    weight: 1,
    estimated: false,
    remaining: 870,
    costUsd: 0,
    ...overrides,
  };
}

describe('UsageMirror', () => {
  let mirror: UsageMirror;

  beforeEach(() => {
    fakeBrowser.reset();
    mirror = new UsageMirror({ backendUrl: BACKEND_URL, now: () => NOW });
  });

  it('stores the backend figures', async () => {
    await mirror.applyUsageResponse(
      usageFigures({ allowance: 1000, used: 100, remaining: 900 }),
    );
    await mirror.flush();

    const stored = await readUsageSnapshot();
    expect(stored?.status).toBe('ok');
    expect(stored?.figures?.allowance).toBe(1000);
    expect(stored?.figures?.used).toBe(100);
    expect(stored?.figures?.remaining).toBe(900);
    expect(stored?.figures?.liveTokens).toBe(0);
    expect(stored?.syncedAt).toBe(new Date(NOW).toISOString());
  });

  it('estimates live, then takes the backend figures', async () => {
    await mirror.applyUsageResponse(
      usageFigures({ allowance: 1000, used: 100, remaining: 900 }),
    );
    const partial = 'Paris is the capital';
    const partialTokens = countTokens(partial);

    await mirror.beginAnswer('answer-1', { tier: 'cheap', inputTokens: 20 });
    await mirror.updateAnswer('answer-1', partial);
    await mirror.flush();
    let figures = (await readUsageSnapshot())?.figures;
    expect(figures?.liveTokens).toBe(20 + partialTokens);
    expect(figures?.used).toBe(100 + 20 + partialTokens);
    expect(figures?.remaining).toBe(900 - 20 - partialTokens);

    await mirror.settleAnswer(
      'answer-1',
      answerUsage({ charged: 31, remaining: 869 }),
    );
    await mirror.flush();
    figures = (await readUsageSnapshot())?.figures;
    expect(figures?.liveTokens).toBe(0);
    expect(figures?.used).toBe(131);
    expect(figures?.remaining).toBe(869);

    await mirror.applyUsageResponse(
      usageFigures({ allowance: 1000, used: 133, remaining: 867 }),
    );
    await mirror.flush();
    figures = (await readUsageSnapshot())?.figures;
    expect(figures?.used).toBe(133);
    expect(figures?.remaining).toBe(867);
  });

  it('weights premium estimates', async () => {
    await mirror.applyUsageResponse(
      usageFigures({
        allowance: 1000,
        used: 0,
        remaining: 1000,
        premiumWeight: 5,
      }),
    );
    await mirror.beginAnswer('answer-1', { tier: 'premium', inputTokens: 10 });
    await mirror.updateAnswer('answer-1', 'Proof');
    await mirror.flush();

    const expected = 5 * (10 + countTokens('Proof'));
    const figures = (await readUsageSnapshot())?.figures;
    expect(figures?.liveTokens).toBe(expected);
    expect(figures?.remaining).toBe(1000 - expected);
  });

  it('replaces a reservation with the estimate', async () => {
    // The backend reported while the answer streamed: its reservation of
    // input plus the output cap is in `reserved`.
    await mirror.applyUsageResponse(
      usageFigures({
        allowance: 1000,
        used: 100,
        reserved: 300,
        remaining: 600,
      }),
    );
    await mirror.beginAnswer('answer-1', { tier: 'cheap', inputTokens: 50 });
    await mirror.flush();

    const figures = (await readUsageSnapshot())?.figures;
    expect(figures?.used).toBe(150);
    expect(figures?.remaining).toBe(850);
  });

  it('drops the estimate of a stopped answer', async () => {
    await mirror.applyUsageResponse(usageFigures({ used: 0, remaining: 1000 }));
    await mirror.beginAnswer('answer-1', { tier: 'cheap', inputTokens: 50 });
    await mirror.endAnswer('answer-1');
    await mirror.flush();

    const figures = (await readUsageSnapshot())?.figures;
    expect(figures?.liveTokens).toBe(0);
    expect(figures?.remaining).toBe(1000);
  });

  it('drops an estimate with the backend figures', async () => {
    await mirror.applyUsageResponse(usageFigures({ used: 0, remaining: 1000 }));
    await mirror.beginAnswer('answer-1', { tier: 'cheap', inputTokens: 50 });
    await mirror.flush();
    const remainingSeen: number[] = [];
    fakeBrowser.storage.onChanged.addListener((changes) => {
      const change = changes[USAGE_STORAGE_KEY];
      const value = change?.newValue as { figures: { remaining: number } };
      remainingSeen.push(value.figures.remaining);
    });

    await mirror.applyUsageResponse(
      usageFigures({ used: 60, remaining: 940 }),
      'answer-1',
    );
    await mirror.flush();
    expect(remainingSeen).toEqual([940]);
    expect((await readUsageSnapshot())?.figures?.liveTokens).toBe(0);
  });

  it('never shows less than zero remaining', async () => {
    await mirror.applyUsageResponse(usageFigures({ used: 990, remaining: 10 }));
    await mirror.beginAnswer('answer-1', { tier: 'cheap', inputTokens: 50 });
    await mirror.flush();

    expect((await readUsageSnapshot())?.figures?.remaining).toBe(0);
  });

  it('keeps the figures when the backend is unreachable', async () => {
    await mirror.applyUsageResponse(usageFigures({ used: 10, remaining: 990 }));
    await mirror.markProblem('unreachable', 'Cannot reach the server.');
    await mirror.flush();

    const stored = await readUsageSnapshot();
    expect(stored?.status).toBe('unreachable');
    expect(stored?.problem).toBe('Cannot reach the server.');
    expect(stored?.figures?.remaining).toBe(990);
  });

  it('notifies storage listeners of each change', async () => {
    const remainingSeen: number[] = [];
    fakeBrowser.storage.onChanged.addListener((changes, areaName) => {
      const change = changes[USAGE_STORAGE_KEY];
      if (areaName === 'local' && change) {
        remainingSeen.push(
          (change.newValue as { figures: { remaining: number } }).figures
            .remaining,
        );
      }
    });

    await mirror.applyUsageResponse(usageFigures({ used: 0, remaining: 1000 }));
    await mirror.flush();
    await mirror.beginAnswer('answer-1', { tier: 'cheap', inputTokens: 100 });
    await mirror.flush();

    expect(remainingSeen).toEqual([1000, 900]);
  });

  it('reloads the settled figures after a restart', async () => {
    await mirror.applyUsageResponse(
      usageFigures({ used: 100, remaining: 900 }),
    );
    await mirror.beginAnswer('answer-1', { tier: 'cheap', inputTokens: 50 });
    await mirror.flush();

    const restarted = new UsageMirror({
      backendUrl: BACKEND_URL,
      now: () => NOW,
    });
    await restarted.endAnswer('unknown');
    const figures = restarted.snapshot().figures;
    expect(figures?.used).toBe(100);
    expect(figures?.remaining).toBe(900);
    expect(figures?.liveTokens).toBe(0);
  });

  it('ignores figures of another backend', async () => {
    await mirror.applyUsageResponse(
      usageFigures({ used: 100, remaining: 900 }),
    );
    await mirror.flush();

    const other = new UsageMirror({ backendUrl: 'http://127.0.0.1:10' });
    await other.endAnswer('unknown');
    expect(other.snapshot().figures).toBeUndefined();
  });
});

describe('classifyRemaining', () => {
  it.each([
    [1000, 1000, 'ok'],
    [250, 1000, 'ok'],
    [249, 1000, 'low'],
    [100, 1000, 'low'],
    [99, 1000, 'critical'],
    [0, 1000, 'critical'],
    [0, 0, 'critical'],
  ] as const)('%i of %i is %s', (remaining, allowance, level) => {
    expect(classifyRemaining(remaining, allowance)).toBe(level);
  });
});
