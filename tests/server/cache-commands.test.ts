/**
 * The cache commands as real processes: `tokenwise similar` and
 * `tokenwise simulate` (their output formats and errors), and the output
 * of `npm run eval:cache`.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SIMILARITY_THRESHOLD } from '../../lib/similarity';
import { simulateTraffic } from '../../server/cache/traffic-simulation';
import { createTempDirectory } from './helpers';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = path.join(ROOT, 'bin/tokenwise.js');

let temp: ReturnType<typeof createTempDirectory>;

beforeEach(() => {
  temp = createTempDirectory();
});
afterEach(() => temp.remove());

interface ProcessResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], input = ''): Promise<ProcessResult> {
  const child = spawn(process.execPath, args, { cwd: ROOT });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin.end(input);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function parseLines(text: string): unknown[] {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as unknown);
}

describe('tokenwise similar', () => {
  it('writes one result per pair', async () => {
    const input = [
      { q1: 'How do I reset my password?', q2: 'How can I reset my password' },
      { q1: 'What is 12 times 7?', q2: 'What is 12 times 8?' },
      { q1: 'Hello', q2: 'hello' },
    ]
      .map((pair) => JSON.stringify(pair))
      .join('\n');

    const result = await run([BIN, 'similar'], `${input}\n`);

    expect(result.code).toBe(0);
    const lines = parseLines(result.stdout) as Array<{
      similar: boolean;
      score: number;
    }>;
    expect(lines).toHaveLength(3);
    for (const line of lines) {
      expect(Object.keys(line).sort()).toEqual(['score', 'similar']);
      expect(line.score).toBeGreaterThanOrEqual(0);
      expect(line.score).toBeLessThanOrEqual(1);
      expect(line.similar).toBe(line.score >= SIMILARITY_THRESHOLD);
    }
    expect(lines.map((line) => line.similar)).toEqual([true, false, true]);
    expect(lines[2]?.score).toBe(1);
  });

  it('reports a bad line and exits 1', async () => {
    const result = await run(
      [BIN, 'similar'],
      '{"q1": "a", "q2": "a"}\nnot json\n{"q1": "only one"}\n',
    );

    expect(result.code).toBe(1);
    const lines = parseLines(result.stdout) as Array<Record<string, unknown>>;
    expect(lines[0]?.similar).toBe(true);
    expect(lines[1]?.error).toBe('Line 2 is not valid JSON.');
    expect(lines[2]?.error).toContain('Line 3 needs "q1" and "q2"');
  });
});

describe('tokenwise simulate', () => {
  function writeLog(lines: object[]): string {
    const file = path.join(temp.directory, 'traffic.jsonl');
    writeFileSync(
      file,
      `${lines.map((line) => JSON.stringify(line)).join('\n')}\n`,
    );
    return file;
  }

  const LOG = [
    { prompt: 'How do I reset my password?', install: 'a' },
    { prompt: 'how do I reset my password', install: 'a' },
    { prompt: 'How do I reset my password?', install: 'b' },
    {
      prompt: 'What is 17 times 23?',
      install: 'b',
      weak_correct: false,
      strong_correct: true,
    },
  ];

  it('prints one JSON object with --json', async () => {
    const file = writeLog(LOG);

    const result = await run([BIN, 'simulate', '--log', file, '--json']);

    expect(result.code).toBe(0);
    const lines = parseLines(result.stdout);
    expect(lines).toHaveLength(1);
    const bill = lines[0] as ReturnType<typeof simulateTraffic>;
    expect(bill.requests).toBe(4);
    expect(bill.installs).toBe(2);
    expect(bill.cache.extensionHits).toBe(1);
    expect(bill.cache.backendSharedHits).toBe(0);
    expect(bill.cache.hitRate).toBe(0.25);
    expect(bill.quality?.labeledRequests).toBe(1);
    expect(bill.totalUsd).toBeLessThan(bill.noCacheUsd);
    expect(bill.noCacheUsd).toBeLessThanOrEqual(bill.premiumOnlyUsd);
  });

  it('shares context-free answers with --shared', async () => {
    const file = writeLog(LOG);

    const result = await run([
      BIN,
      'simulate',
      '--log',
      file,
      '--shared',
      '--json',
    ]);

    const bill = parseLines(result.stdout)[0] as ReturnType<
      typeof simulateTraffic
    >;
    expect(bill.cache.extensionHits).toBe(1);
    expect(bill.cache.backendSharedHits).toBe(1);
    expect(bill.cache.hitRate).toBe(0.5);
  });

  it('prints the bill as a table', async () => {
    const file = writeLog(LOG);

    const result = await run([BIN, 'simulate', '--log', file]);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Requests: 4 from 2 installs');
    expect(result.stdout).toMatch(/cheap \(gemini:gemini-3-flash\)/);
    expect(result.stdout).toMatch(/premium \(openai:gpt-5\.5\)/);
    expect(result.stdout).toContain('Cache hit rate: 25.0%');
    expect(result.stdout).toContain('Premium only, no cache: $');
    expect(result.stdout).toContain('Routed, no cache: $');
    expect(result.stdout).toContain('Quality on 1 labeled requests');
  });

  it('bills every request without a cache', () => {
    const bill = simulateTraffic({
      lines: LOG,
      sharedScope: false,
      cacheEnabled: false,
      cheapModel: 'gemini:gemini-3-flash',
      premiumModel: 'openai:gpt-5.5',
    });

    expect(bill.cache.hitRate).toBe(0);
    expect(
      bill.providerCalls.cheap.requests + bill.providerCalls.premium.requests,
    ).toBe(4);
    expect(bill.totalUsd).toBeCloseTo(bill.noCacheUsd, 12);
    expect(bill.savingsVsNoCache).toBeCloseTo(0, 12);
  });

  it.each([
    { case: 'no --log', args: [], code: 2, message: '--log FILE is required' },
    {
      case: 'a bad model',
      args: ['--log', 'x.jsonl', '--cheap-model', 'nobody:model'],
      code: 2,
      message: 'Unknown provider "nobody"',
    },
    {
      case: 'a missing file',
      args: ['--log', 'missing.jsonl'],
      code: 1,
      message: 'could not read the log',
    },
  ])('rejects $case', async (row) => {
    const result = await run([BIN, 'simulate', ...row.args]);

    expect(result.code).toBe(row.code);
    expect(result.stderr).toContain(row.message);
  });

  it('names a bad log line', async () => {
    const file = writeLog([{ prompt: 'ok' }, { install: 'no prompt' }]);

    const result = await run([BIN, 'simulate', '--log', file]);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('line 2 of');
  });
});

describe('npm run eval:cache', () => {
  it('prints held-out hit and false-hit rates', async () => {
    const result = await run([
      path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'),
      'scripts/eval-cache.ts',
      '--pairs',
      '500',
    ]);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Held-out part: 3001 of 10003 questions');
    expect(result.stdout).toContain('500 same-intent and 500 different-intent');
    expect(result.stdout).toContain(
      `Threshold in use: ${SIMILARITY_THRESHOLD}`,
    );
    expect(result.stdout).toMatch(
      /Hit rate \(same intent matched\): +\d+\.\d\d%/,
    );
    expect(result.stdout).toMatch(
      /False-hit rate \(different intent matched\): \d+\.\d\d%/,
    );
  });
});
