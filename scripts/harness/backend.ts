/**
 * Starts the real backend as a child process (`node bin/tokenwise.js serve`)
 * on a free port with its own database, for the demo, `npm start` and the
 * end-to-end tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPOSITORY_ROOT = resolve(
  dirname(fileURLToPath(import.meta.url)),
  '../..',
);

export interface StartBackendOptions {
  /** Port to listen on; a free one when omitted. */
  port?: number;
  /** Folder for the database and the install secret. */
  dataDir: string;
  /** File that receives the backend's log lines. */
  logFile: string;
  /** Extra environment variables, such as provider base URLs. */
  env?: Record<string, string>;
  /** Milliseconds to wait for `/healthz`; defaults to 20 seconds. */
  startTimeoutMs?: number;
  /**
   * When true (the default), the backend ignores provider settings from the
   * environment and the repository's `.env`, so it can never reach a real
   * provider: it runs in `dataDir` with provider variables removed.
   */
  isolated?: boolean;
  /** Options for Node.js itself, such as `--cpu-prof`; none by default. */
  nodeOptions?: string[];
}

export interface RunningBackend {
  url: string;
  port: number;
  process: ChildProcess;
  /** Stops the process with SIGTERM and waits for it to exit. */
  stop(): Promise<void>;
}

/** Returns a TCP port on 127.0.0.1 that was free a moment ago. */
export async function findFreePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/**
 * Starts the backend and waits until `/healthz` answers. Throws with the
 * log file's path when the process exits early or does not answer in time.
 */
export async function startBackend(
  options: StartBackendOptions,
): Promise<RunningBackend> {
  const port = options.port ?? (await findFreePort());
  mkdirSync(options.dataDir, { recursive: true });
  mkdirSync(dirname(options.logFile), { recursive: true });
  const log = createWriteStream(options.logFile, { flags: 'a' });

  const isolated = options.isolated ?? true;
  const child = spawn(
    process.execPath,
    [
      ...(options.nodeOptions ?? []),
      join(REPOSITORY_ROOT, 'bin/tokenwise.js'),
      'serve',
    ],
    {
      cwd: isolated ? options.dataDir : REPOSITORY_ROOT,
      env: {
        ...(isolated ? withoutProviderKeys(process.env) : process.env),
        PORT: String(port),
        HOST: '127.0.0.1',
        ...(isolated
          ? { TOKENWISE_DATABASE_URL: join(options.dataDir, 'tokenwise.db') }
          : {}),
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);

  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<number | null>((resolveExit) =>
    child.once('exit', (code) => resolveExit(code)),
  );
  await waitForHealth({
    url,
    exited,
    logFile: options.logFile,
    timeoutMs: options.startTimeoutMs ?? 20_000,
  });

  return {
    url,
    port,
    process: child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      log.end();
    },
  };
}

// Keys from the developer's shell must not reach a test or demo backend,
// which would then call a real provider.
function withoutProviderKeys(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const copy = { ...env };
  for (const name of [
    'OPENAI_API_KEY',
    'GEMINI_API_KEY',
    'ANTHROPIC_API_KEY',
    'OPENAI_BASE_URL',
    'GEMINI_BASE_URL',
    'ANTHROPIC_BASE_URL',
    'TOKENWISE_DATABASE_URL',
    'TOKENWISE_REDIS_URL',
  ]) {
    delete copy[name];
  }
  return copy;
}

async function waitForHealth(options: {
  url: string;
  exited: Promise<number | null>;
  logFile: string;
  timeoutMs: number;
}): Promise<void> {
  let exitCode: number | null | undefined;
  void options.exited.then((code) => (exitCode = code));
  const deadline = Date.now() + options.timeoutMs;

  while (Date.now() < deadline) {
    if (exitCode !== undefined) {
      throw new Error(
        `The backend exited with code ${exitCode} before answering; see ${options.logFile}.`,
      );
    }
    try {
      const response = await fetch(`${options.url}/healthz`);
      if (response.ok) {
        return;
      }
    } catch {
      // Not listening yet.
    }
    await new Promise((wake) => setTimeout(wake, 100));
  }
  throw new Error(
    `The backend did not answer ${options.url}/healthz within ${options.timeoutMs} ms; see ${options.logFile}.`,
  );
}
