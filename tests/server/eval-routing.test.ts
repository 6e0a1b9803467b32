import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isHeldOut } from '../../lib/router-evaluation';

const run = promisify(execFile);
const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
const TSX = path.join(REPO_ROOT, 'node_modules/.bin/tsx');
const SCRIPT = path.join(REPO_ROOT, 'scripts/eval-routing.ts');

let dataDir: string;
const mmluPrompts: string[] = [];
const gsm8kPrompts: string[] = [];

function writeSet(
  file: string,
  prompts: string[],
  makePrompt: (index: number) => string,
): void {
  const lines: string[] = [];
  for (let index = 0; index < 40; index += 1) {
    const prompt = makePrompt(index);
    prompts.push(prompt);
    lines.push(
      JSON.stringify({
        prompt,
        weak_correct: index % 3 !== 0,
        strong_correct: index % 5 !== 0,
      }),
    );
  }
  writeFileSync(path.join(dataDir, file), `${lines.join('\n')}\n`);
}

async function runEvaluation(
  args: string[],
  directory = dataDir,
): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run(TSX, [SCRIPT, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, TOKENWISE_DATA_DIR: directory },
    });
    return { stdout, stderr, code: 0 };
  } catch (error) {
    const failure = error as { stdout: string; stderr: string; code: number };
    return failure;
  }
}

beforeAll(() => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'tokenwise-eval-'));
  writeSet(
    'routing-mmlu-dev.jsonl',
    mmluPrompts,
    (index) =>
      `Question ${index}: which of these is ${'very '.repeat(index)}large?\nA. ${index}\nB. two\nC. three\nD. four\nAnswer:`,
  );
  writeSet(
    'routing-gsm8k-dev.jsonl',
    gsm8kPrompts,
    (index) =>
      `Sam has ${index} apples and buys ${index + 3} more at $2 each. How many apples does Sam have now?`,
  );
});

afterAll(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

describe('eval-routing script', () => {
  it('prints one JSON report with --json', async () => {
    const { stdout, code } = await runEvaluation(['--json']);
    const report = JSON.parse(stdout) as {
      part: string;
      holdOut: { percent: number };
      qualityTarget: number;
      costModel: string;
      dataDir: string;
      sets: Array<{
        name: string;
        totalPrompts: number;
        scoredPrompts: number;
        atDeployedThreshold: {
          threshold: number;
          premiumShare: number;
          qualityRetained: number;
        };
        costReductionAtTarget: {
          router: number;
          randomRouter: number;
          lengthOnlyRouter: number;
        };
        costReductionInterval: {
          router: { low: number; high: number };
          leadOverBaseline: { low: number; high: number };
        };
      }>;
      meanDecisionMilliseconds: number;
      decisions: number;
    };

    expect(code).toBe(0);
    expect(stdout.trim().split('\n')).toHaveLength(1);
    expect(report.part).toBe('held-out');
    expect(report.holdOut.percent).toBe(30);
    expect(report.qualityTarget).toBe(0.95);
    expect(report.costModel).toContain('premium share');
    expect(report.dataDir).toBe(dataDir);
    expect(report.sets.map((set) => set.name)).toEqual(['MMLU', 'GSM8K']);
    expect(report.sets[0]!.totalPrompts).toBe(40);
    expect(report.sets[0]!.scoredPrompts).toBe(
      mmluPrompts.filter(isHeldOut).length,
    );
    expect(report.sets[1]!.scoredPrompts).toBe(
      gsm8kPrompts.filter(isHeldOut).length,
    );
    for (const set of report.sets) {
      expect(set.atDeployedThreshold.threshold).toBe(0.5);
      expect(set.atDeployedThreshold.premiumShare).toBeGreaterThanOrEqual(0);
      expect(set.atDeployedThreshold.premiumShare).toBeLessThanOrEqual(1);
      expect(set.atDeployedThreshold.qualityRetained).toBeGreaterThan(0);
      expect(set.costReductionAtTarget.router).toBeGreaterThanOrEqual(0);
      expect(set.costReductionAtTarget.router).toBeLessThanOrEqual(1);
      expect(set.costReductionAtTarget.randomRouter).toBeGreaterThanOrEqual(0);
      expect(set.costReductionAtTarget.lengthOnlyRouter).toBeGreaterThanOrEqual(
        0,
      );
      const interval = set.costReductionInterval;
      expect(interval.router.low).toBeLessThanOrEqual(interval.router.high);
      expect(interval.leadOverBaseline.low).toBeLessThanOrEqual(
        interval.leadOverBaseline.high,
      );
    }
    expect(report.decisions).toBe(
      report.sets[0]!.scoredPrompts + report.sets[1]!.scoredPrompts,
    );
    expect(report.meanDecisionMilliseconds).toBeGreaterThan(0);
  });

  it('scores every prompt with --part all', async () => {
    const { stdout, code } = await runEvaluation(['--json', '--part', 'all']);
    const report = JSON.parse(stdout) as {
      sets: Array<{ scoredPrompts: number }>;
    };

    expect(code).toBe(0);
    expect(report.sets.map((set) => set.scoredPrompts)).toEqual([40, 40]);
  });

  it('prints the text report', async () => {
    const { stdout, code } = await runEvaluation([]);

    expect(code).toBe(0);
    expect(stdout).toContain('held-out 30% of each file');
    expect(stdout).toContain('Cost model: a premium answer costs 1');
    expect(stdout).toMatch(
      /MMLU \(routing-mmlu-dev\.jsonl\): \d+ of 40 prompts scored/,
    );
    expect(stdout).toMatch(
      /at the deployed threshold 0\.5: premium share \d+\.\d%, quality retained \d+\.\d% of premium-only/,
    );
    expect(stdout).toMatch(
      /cost reduction against premium-only at 95\.0% of premium quality: router \d+\.\d%, random router \d+\.\d% \(length-only router \d+\.\d%\)/,
    );
    expect(stdout).toMatch(
      /90\.0% bootstrap interval over 1000 resamples: router \d+\.\d% to \d+\.\d%, lead over length-only [-+]\d+\.\d to [-+]\d+\.\d points/,
    );
    expect(stdout).toMatch(
      /Mean decision time: \d+\.\d{4} ms over \d+ decisions, after a warm-up pass\./,
    );
  });

  it('names the folder it looked in when data is missing', async () => {
    const missing = path.join(dataDir, 'no-such-folder');
    const { stderr, code } = await runEvaluation([], missing);

    expect(code).toBe(1);
    expect(stderr).toContain(
      `Routing data folder not found: looked in ${missing}.`,
    );
  });

  it('rejects an unknown --part', async () => {
    const { stderr, code } = await runEvaluation(['--part', 'test']);

    expect(code).toBe(2);
    expect(stderr).toContain('Invalid --part "test"');
  });
});
