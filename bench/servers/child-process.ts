/**
 * Starts the benchmark's helper processes (the fake provider and Portkey's
 * gateway) and stops them again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { findFreePort, REPOSITORY_ROOT } from '../../scripts/harness/backend';

/** A helper process and how to stop it. */
export interface RunningChild {
  process: ChildProcess;
  /** Sends SIGTERM, then SIGKILL after 5 seconds, and waits for the exit. */
  stop(): Promise<void>;
}

/** Base URLs printed by the fake provider process. */
export interface FakeProviderUrls {
  url: string;
  openaiBaseUrl: string;
}

const TSX_CLI = join(REPOSITORY_ROOT, 'node_modules/tsx/dist/cli.mjs');

/** Starts bench/servers/fake-provider-process.ts and reads its URLs. */
export async function startFakeProviderProcess(
  logFile: string,
): Promise<{ child: RunningChild; urls: FakeProviderUrls }> {
  const child = spawn(
    process.execPath,
    [TSX_CLI, join(REPOSITORY_ROOT, 'bench/servers/fake-provider-process.ts')],
    { cwd: REPOSITORY_ROOT, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  pipeStderr(child, logFile);
  const line = await readFirstLine(child, 20_000);
  return {
    child: wrapChild(child),
    urls: JSON.parse(line) as FakeProviderUrls,
  };
}

/**
 * Starts Portkey's gateway from its npm package on a free port of
 * 127.0.0.1, with bench/servers/portkey-preload.mjs, and waits until it
 * responds. Throws when it exits or does not respond within 20 seconds.
 */
export async function startPortkey(
  logFile: string,
): Promise<{ child: RunningChild; url: string }> {
  const port = await findFreePort();
  const child = spawn(
    process.execPath,
    [
      '--import',
      join(REPOSITORY_ROOT, 'bench/servers/portkey-preload.mjs'),
      join(
        REPOSITORY_ROOT,
        'node_modules/@portkey-ai/gateway/build/start-server.js',
      ),
      `--port=${port}`,
      '--headless',
    ],
    {
      cwd: REPOSITORY_ROOT,
      env: { ...process.env, NODE_ENV: 'production' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  mkdirSync(dirname(logFile), { recursive: true });
  const log = createWriteStream(logFile, { flags: 'a' });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(
        `Portkey's gateway exited with code ${child.exitCode}; see ${logFile}.`,
      );
    }
    try {
      await fetch(url);
      return { child: wrapChild(child), url };
    } catch {
      await new Promise((wake) => setTimeout(wake, 200));
    }
  }
  child.kill('SIGKILL');
  throw new Error(
    `Portkey's gateway did not respond on ${url} within 20 s; see ${logFile}.`,
  );
}

function pipeStderr(child: ChildProcess, logFile: string): void {
  mkdirSync(dirname(logFile), { recursive: true });
  child.stderr?.pipe(createWriteStream(logFile, { flags: 'a' }));
}

function readFirstLine(
  child: ChildProcess,
  timeoutMs: number,
): Promise<string> {
  return new Promise((resolveLine, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`A helper process printed nothing in ${timeoutMs} ms.`));
    }, timeoutMs);
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolveLine(line);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`A helper process exited with code ${code} at start.`));
    });
  });
}

function wrapChild(child: ChildProcess): RunningChild {
  const exited = new Promise<void>((resolveExit) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolveExit();
    } else {
      child.once('exit', () => resolveExit());
    }
  });
  return {
    process: child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}
