/**
 * The benchmark's own arithmetic: the CPU profile summary that
 * bench/profile/profile-backend.ts prints, and the load section of the
 * results page with the machine's load average beside each row.
 */
import { describe, expect, it } from 'vitest';
import type { LoadResult } from '../../../bench/load/load-plan';
import {
  summarizeCpuProfile,
  type CpuProfile,
} from '../../../bench/profile/summarize-cpu-profile';
import { writeReport, type BenchResults } from '../../../bench/report';
import type { LoadRun } from '../../../bench/sections/backend-overhead';

function frame(id: number, functionName: string, children: number[] = []) {
  return {
    id,
    callFrame: {
      functionName,
      url: `file:///work/main/server/${functionName}.ts`,
      lineNumber: 0,
    },
    children,
  };
}

// root (1) calls handle (2), which calls parse (3) and store (4).
const PROFILE: CpuProfile = {
  nodes: [
    {
      ...frame(1, ''),
      callFrame: { functionName: '(root)', url: '', lineNumber: 0 },
    },
    frame(2, 'handle', [3, 4]),
    frame(3, 'parse'),
    frame(4, 'store'),
  ],
  startTime: 0,
  // One sample per millisecond: two of start-up in handle, then six in
  // store, two in parse.
  samples: [2, 2, 4, 4, 4, 4, 4, 4, 3, 3],
  timeDeltas: Array.from({ length: 10 }, () => 1_000),
};

function shareOf(summary: string, table: 'self' | 'total', name: string) {
  const section = summary.split(`${table}:\n`)[1]?.split(/\n[a-z]+:\n/)[0];
  const line = section
    ?.split('\n')
    .find((candidate) => candidate.includes(` ${name} `));
  return line === undefined ? undefined : Number.parseFloat(line);
}

describe('summarizeCpuProfile', () => {
  it('splits self and total time', () => {
    const summary = summarizeCpuProfile(PROFILE);

    expect(summary.startsWith('10 samples')).toBe(true);
    expect(shareOf(summary, 'self', 'store')).toBe(60);
    expect(shareOf(summary, 'self', 'parse')).toBe(20);
    expect(shareOf(summary, 'self', 'handle')).toBe(20);
    expect(shareOf(summary, 'total', 'handle')).toBe(100);
    expect(shareOf(summary, 'total', 'store')).toBe(60);
  });

  it('leaves out samples before skipMs', () => {
    const summary = summarizeCpuProfile(PROFILE, { skipMs: 2 });

    expect(summary.startsWith('8 samples')).toBe(true);
    expect(shareOf(summary, 'self', 'store')).toBe(75);
    expect(shareOf(summary, 'self', 'handle')).toBeUndefined();
  });
});

function loadResult(p50: number, achievedRate: number): LoadResult {
  const distribution = {
    count: 100,
    min: p50 / 2,
    p50,
    p90: p50 * 2,
    p99: p50 * 3,
    max: p50 * 4,
    mean: p50,
  };
  return {
    completed: 100,
    failed: 0,
    achievedRate,
    firstTokenMs: distribution,
    fullResponseMs: distribution,
  };
}

describe('results page load section', () => {
  const runs: LoadRun[] = [1, 2, 3].flatMap((repetition) => [
    {
      repetition,
      rate: 500,
      target: 'direct' as const,
      result: loadResult(4, 500),
      loadAverage: repetition,
    },
    {
      repetition,
      rate: 500,
      target: 'tokenwise-sqlite' as const,
      result: {
        ...loadResult(10 * repetition, 400),
        targetCpuMs: 400 * repetition,
      },
      loadAverage: 10 + repetition,
    },
  ]);
  const results: BenchResults = {
    command: 'npm run bench',
    quick: false,
    startedAt: '2026-12-04T19:00:00.000Z',
    finishedAt: '2026-12-04T19:08:00.000Z',
    machine: {
      cpuModel: 'Test CPU',
      cores: 2,
      memoryGiB: 8,
      os: 'Linux',
      node: 'v20.20.2',
      loadAverageAtStart: 12,
      otherTestRunners: 3,
    },
    loadAverageAtEnd: 11,
    load: {
      rates: [500],
      repetitions: 3,
      durationSeconds: 6,
      warmupSeconds: 2,
      connections: 16,
      installCount: 64,
      runs,
      skipped: {},
    },
    errors: {},
  };
  const page = writeReport(results);

  function row(label: string): string[] {
    const line = page
      .split('\n')
      .find(
        (candidate) =>
          candidate.startsWith('| 500 req/s') &&
          candidate.includes(label) &&
          candidate.split('|').length > 9,
      );
    return (line ?? '').split('|').map((cell) => cell.trim());
  }

  it('shows the median load average per row', () => {
    expect(row('Tokenwise, SQLite').at(-2)).toBe('12.00');
    expect(row('fake provider, direct').at(-2)).toBe('2.00');
  });

  it('shows CPU time per request', () => {
    // 400, 800 and 1,200 ms of CPU for 100 requests each.
    expect(row('Tokenwise, SQLite').at(-3)).toBe('8.00');
    expect(row('fake provider, direct').at(-3)).toBe('n/a');
  });

  it('shows the median over runs', () => {
    expect(row('Tokenwise, SQLite')[3]).toBe('400');
    expect(row('Tokenwise, SQLite')[5]).toBe('20.00 / 40.00 / 60.00');
  });

  it('says why no non-streaming figures', () => {
    expect(page).toContain('No non-streaming figures');
  });

  it('reports the shared machine', () => {
    expect(page).toContain('one-minute load average was 12 on 2 cores');
  });
});
