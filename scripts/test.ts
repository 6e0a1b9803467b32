/**
 * `npm test`: runs every check and suite in order and ends with one summary
 * line, "N passed, N failed", counting each test case and each static check.
 *
 *   1. Makes sure Debian's Chromium is there (installs it when run as root).
 *   2. Formatter check, type check and linter.
 *   3. Unit and server tests (vitest), then the end-to-end tests in Chromium.
 *
 * Options: --skip-e2e runs everything but the browser tests.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { REPOSITORY_ROOT } from './harness/backend';
import { CHROMIUM_PATH } from './harness/browser';

interface StepResult {
  name: string;
  passed: number;
  failed: number;
  skipped: number;
}

const RESULTS_DIR = join(REPOSITORY_ROOT, 'test-results');
const skipEndToEnd = process.argv.includes('--skip-e2e');

function ensureChromium(): void {
  if (existsSync(CHROMIUM_PATH)) {
    return;
  }
  if (process.getuid?.() !== 0) {
    throw new Error(
      `Chromium is missing at ${CHROMIUM_PATH}. Install it with "sudo apt-get install -y chromium" (Debian), or set CHROMIUM_PATH to a Chromium binary, then run npm test again.`,
    );
  }
  console.log('Chromium is missing; installing Debian\'s "chromium" package.');
  for (const args of [['update'], ['install', '-y', 'chromium']]) {
    const result = spawnSync('apt-get', args, { stdio: 'inherit' });
    if (result.status !== 0) {
      throw new Error(
        `apt-get ${args.join(' ')} failed with code ${result.status}; install chromium by hand and retry.`,
      );
    }
  }
}

function run(command: string, args: string[]): Promise<number> {
  return new Promise((resolveRun) => {
    const child = spawn(command, args, {
      cwd: REPOSITORY_ROOT,
      stdio: 'inherit',
      env: process.env,
    });
    child.once('exit', (code) => resolveRun(code ?? 1));
    child.once('error', () => resolveRun(1));
  });
}

async function runCheck(name: string, args: string[]): Promise<StepResult> {
  console.log(`\n▶ ${name}: npx ${args.join(' ')}`);
  const code = await run('npx', args);
  return {
    name,
    passed: code === 0 ? 1 : 0,
    failed: code === 0 ? 0 : 1,
    skipped: 0,
  };
}

interface VitestJsonReport {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  numFailedTestSuites: number;
}

async function runVitest(name: string, args: string[]): Promise<StepResult> {
  const reportFile = join(RESULTS_DIR, `${name}.json`);
  rmSync(reportFile, { force: true });
  console.log(`\n▶ ${name}: npx vitest run ${args.join(' ')}`);
  const code = await run('npx', [
    'vitest',
    'run',
    ...args,
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${reportFile}`,
  ]);

  if (!existsSync(reportFile)) {
    return { name, passed: 0, failed: 1, skipped: 0 };
  }
  const report = JSON.parse(
    readFileSync(reportFile, 'utf8'),
  ) as VitestJsonReport;
  // Vitest counts a describe block with a failed test as a failed suite
  // too, so suites count only when no test failed: a file that fails to
  // load has no failed test but must count as a failure.
  let failed = report.numFailedTests;
  if (failed === 0) {
    failed = report.numFailedTestSuites;
  }
  if (failed === 0 && code !== 0) {
    failed = 1;
  }
  return {
    name,
    passed: report.numPassedTests,
    failed,
    skipped: report.numPendingTests + report.numTodoTests,
  };
}

async function main(): Promise<number> {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const results: StepResult[] = [];

  try {
    if (!skipEndToEnd) {
      ensureChromium();
    }
  } catch (error) {
    console.error((error as Error).message);
    return 1;
  }

  results.push(await runCheck('format', ['prettier', '--check', '.']));
  results.push(await runCheck('types', ['tsc', '--noEmit']));
  results.push(await runCheck('lint', ['eslint', '.']));
  results.push(await runVitest('unit', ['--project', 'unit']));
  results.push(await runVitest('server', ['--project', 'server']));
  if (!skipEndToEnd) {
    results.push(await runVitest('e2e', ['--config', 'vitest.e2e.config.ts']));
  }

  console.log('\nSummary');
  for (const result of results) {
    const skipped = result.skipped ? `, ${result.skipped} skipped` : '';
    console.log(
      `  ${result.name.padEnd(8)} ${result.passed} passed, ${result.failed} failed${skipped}`,
    );
  }
  const passed = results.reduce((sum, result) => sum + result.passed, 0);
  const failed = results.reduce((sum, result) => sum + result.failed, 0);
  console.log(`${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

process.exitCode = await main();
