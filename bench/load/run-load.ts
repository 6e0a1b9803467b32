/**
 * Runs bench/load/load-worker.ts as a child process for one LoadPlan and
 * parses the LoadResult it prints.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPOSITORY_ROOT } from '../../scripts/harness/backend';
import type { LoadPlan, LoadResult } from './load-plan';

/** Seconds a worker may run beyond its planned load before it is killed. */
const WORKER_GRACE_SECONDS = 30;

/** Runs one load plan; rejects when the worker fails or overruns. */
export function runLoad(plan: LoadPlan): Promise<LoadResult> {
  const limitMs =
    (plan.warmupSeconds + plan.durationSeconds + WORKER_GRACE_SECONDS) * 1_000;
  return new Promise((resolveRun, reject) => {
    const child = spawn(
      process.execPath,
      [
        join(REPOSITORY_ROOT, 'node_modules/tsx/dist/cli.mjs'),
        join(REPOSITORY_ROOT, 'bench/load/load-worker.ts'),
        JSON.stringify(plan),
      ],
      { cwd: REPOSITORY_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    let errors = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const line = output.trim().split('\n').pop() ?? '';
      if (code !== 0 || line === '') {
        reject(
          new Error(
            `The load worker for ${plan.url} failed (code ${code}, signal ${signal}): ${errors.slice(-2_000)}`,
          ),
        );
        return;
      }
      resolveRun(JSON.parse(line) as LoadResult);
    });
  });
}
