/**
 * `npm run bench`: runs the tokenizer, extension and load benchmarks and
 * writes bench/BENCHMARKS.md, with the raw figures in bench/results/.
 * `npm run bench -- --quick` runs a short version (under two minutes) and
 * writes bench/results/BENCHMARKS-quick.md instead, so a quick run never
 * replaces the page of a full one.
 * `--only=tokenizer,extension,load` runs some of the sections.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { format, resolveConfig } from 'prettier';
import { REPOSITORY_ROOT } from '../scripts/harness/backend';
import { describeMachine } from './machine';
import { writeReport, type BenchResults } from './report';
import { benchmarkBackendOverhead } from './sections/backend-overhead';
import { benchmarkExtension } from './sections/extension';
import { benchmarkTokenizer } from './sections/tokenizer';

const SECTIONS = ['tokenizer', 'extension', 'load'] as const;
type Section = (typeof SECTIONS)[number];

const RESULTS_DIR = join(REPOSITORY_ROOT, 'bench/results');
const LOG_DIR = join(RESULTS_DIR, 'logs');

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const sections = parseSections(args);
  mkdirSync(LOG_DIR, { recursive: true });

  const startedAt = new Date();
  const results: BenchResults = {
    command: `npm run bench${args.length > 0 ? ` -- ${args.join(' ')}` : ''}`,
    quick,
    startedAt: startedAt.toISOString(),
    finishedAt: '',
    machine: describeMachine(),
    loadAverageAtEnd: 0,
    errors: {},
  };
  const report = (line: string) => console.log(line);

  if (sections.includes('tokenizer')) {
    report('tokenizer');
    await runSection(results, 'tokenizer', async () => {
      results.tokenizer = benchmarkTokenizer({ quick });
    });
  }
  if (sections.includes('extension')) {
    report('extension');
    await runSection(results, 'extension', async () => {
      results.extension = await benchmarkExtension({
        quick,
        logDir: LOG_DIR,
        report,
      });
    });
  }
  if (sections.includes('load')) {
    report('load');
    await runSection(results, 'load', async () => {
      results.load = await benchmarkBackendOverhead({
        quick,
        logDir: LOG_DIR,
        report,
      });
    });
  }

  results.finishedAt = new Date().toISOString();
  results.loadAverageAtEnd = Math.round((loadavg()[0] ?? 0) * 100) / 100;
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const rawFile = join(
    RESULTS_DIR,
    `${quick ? 'quick' : 'full'}-${stamp}.json`,
  );
  writeFileSync(rawFile, `${JSON.stringify(results, null, 2)}\n`);
  const pageFile = quick
    ? join(RESULTS_DIR, 'BENCHMARKS-quick.md')
    : join(REPOSITORY_ROOT, 'bench/BENCHMARKS.md');
  // Formatted like every other file, so the format check passes on it.
  const prettierOptions = (await resolveConfig(pageFile)) ?? {};
  writeFileSync(
    pageFile,
    await format(writeReport(results), {
      ...prettierOptions,
      filepath: pageFile,
    }),
  );

  const seconds = Math.round((Date.now() - startedAt.getTime()) / 1_000);
  report(`wrote ${pageFile} and ${rawFile} in ${seconds} s`);
  const failed = Object.keys(results.errors);
  if (failed.length > 0) {
    report(`sections that failed: ${failed.join(', ')} (see the page)`);
    process.exitCode = 1;
  }
}

function parseSections(args: string[]): Section[] {
  const only = args.find((arg) => arg.startsWith('--only='));
  if (only === undefined) {
    return [...SECTIONS];
  }
  const names = only.slice('--only='.length).split(',');
  for (const name of names) {
    if (!(SECTIONS as readonly string[]).includes(name)) {
      throw new Error(
        `Unknown section "${name}" in --only; use ${SECTIONS.join(', ')}.`,
      );
    }
  }
  return names as Section[];
}

async function runSection(
  results: BenchResults,
  section: Section,
  run: () => Promise<void>,
): Promise<void> {
  try {
    await run();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    results.errors[section] = message;
    console.error(`${section} failed: ${message}`);
  }
}

await main();
