/**
 * The `tokenwise` command as a real process: help text, usage errors,
 * configuration errors, and `serve` starting, answering and stopping on
 * SIGTERM.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES } from '../../server/config-variables';
import { createTempDirectory } from './helpers';

const BIN = fileURLToPath(new URL('../../bin/tokenwise.js', import.meta.url));

let temp: ReturnType<typeof createTempDirectory>;

beforeEach(() => {
  temp = createTempDirectory();
});
afterEach(() => temp.remove());

/** Returns the test runner's environment without any Tokenwise or provider variable. */
function cleanEnvironment(
  extra: Record<string, string> = {},
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const variable of CONFIG_VARIABLES) {
    delete env[variable.name];
  }
  return { ...env, ...extra };
}

function startCli(
  args: string[],
  env: Record<string, string> = {},
): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [BIN, ...args], {
    cwd: temp.directory,
    env: cleanEnvironment(env),
  });
}

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(
  args: string[],
  env: Record<string, string> = {},
  input?: string,
): Promise<CliResult> {
  const child = startCli(args, env);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin.end(input ?? '');
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('tokenwise --help', () => {
  it('lists every variable with its default', async () => {
    const result = await runCli(['--help']);

    const help = result.stdout.replace(/\s+/g, ' ');
    expect(result.code).toBe(0);
    expect(help).toContain('serve');
    expect(help).toContain('route');
    for (const variable of CONFIG_VARIABLES) {
      expect(help).toContain(variable.name);
      expect(help).toContain(`Unit: ${variable.unit}.`);
      expect(help).toContain(`Default: ${variable.defaultValue ?? 'unset'}`);
    }
  });

  it('lists serve options and variables', async () => {
    const result = await runCli(['serve', '--help']);

    // Help lines wrap at 80 columns, so compare with white space folded.
    const help = result.stdout.replace(/\s+/g, ' ');
    expect(result.code).toBe(0);
    for (const option of ['--port', '--host', '--database', '--help']) {
      expect(help).toContain(option);
    }
    for (const variable of CONFIG_VARIABLES) {
      expect(help).toContain(variable.name);
      expect(help).toContain(`Unit: ${variable.unit}.`);
      expect(help).toContain(`Default: ${variable.defaultValue ?? 'unset'}`);
    }
  });
});

describe('tokenwise usage errors', () => {
  it('exits 2 on an unknown option', async () => {
    const result = await runCli(['serve', '--bogus']);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain("Unknown option '--bogus'");
    expect(result.stderr).toContain('tokenwise serve --help');
  });

  it('exits 2 on an unknown command', async () => {
    const result = await runCli(['launch']);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown command "launch"');
  });

  it('exits 2 without a command', async () => {
    const result = await runCli([]);

    expect(result.code).toBe(2);
    expect(result.stdout).toContain('Usage: tokenwise');
  });

  it('exits 1 naming an invalid variable', async () => {
    const result = await runCli(['serve'], {
      TOKENWISE_MAX_OUTPUT_TOKENS: 'lots',
    });

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('TOKENWISE_MAX_OUTPUT_TOKENS = "lots"');
    expect(result.stderr).toContain('must be a whole number');
    expect(existsSync(path.join(temp.directory, 'data'))).toBe(false);
  });

  it('exits 1 naming an invalid option value', async () => {
    const result = await runCli(['serve', '--port', 'eighty']);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('PORT (--port) = "eighty"');
  });
});

describe('tokenwise serve', () => {
  it('starts, answers and stops on SIGTERM', async () => {
    const child = startCli([
      'serve',
      '--port',
      '0',
      '--database',
      'db/tokenwise.db',
    ]);
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) =>
      child.on('close', (code) => resolve(code)),
    );
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        const match = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(stdout);
        if (match?.[1]) {
          resolve(match[1]);
        }
      });
      child.on('close', () =>
        reject(new Error(`serve exited early: ${stderr}`)),
      );
    });

    const health = await fetch(`${url}/healthz`);
    const registration = await fetch(`${url}/v1/installs`, { method: 'POST' });
    child.kill('SIGTERM');
    const code = await exited;

    expect(await health.json()).toEqual({ ok: true });
    expect(registration.status).toBe(201);
    expect(code).toBe(0);
    expect(stderr).toBe('');
    const messages = stdout
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { msg: string }).msg);
    expect(messages).toContain(
      'the cheap tier answers with the offline demo model',
    );
    expect(messages).toContain(
      'the premium tier answers with the offline demo model',
    );
    expect(messages).toContain('backend started');
    expect(messages.at(-1)).toBe('backend stopped');
    const databasePath = path.join(temp.directory, 'db', 'tokenwise.db');
    const secretPath = path.join(temp.directory, 'db', 'install-secret');
    expect(existsSync(databasePath)).toBe(true);
    expect(statSync(secretPath).mode & 0o777).toBe(0o600);
  });

  it('exits 1 when the port is taken', async () => {
    const blocker = startCli([
      'serve',
      '--port',
      '0',
      '--database',
      'a/tokenwise.db',
    ]);
    let output = '';
    const port = await new Promise<string>((resolve) => {
      blocker.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const match = /"url":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(output);
        if (match?.[1]) {
          resolve(match[1]);
        }
      });
    });

    const result = await runCli([
      'serve',
      '--port',
      port,
      '--database',
      'b/tokenwise.db',
    ]);
    blocker.kill('SIGTERM');
    await new Promise((resolve) => blocker.on('close', resolve));

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`port ${port} on 127.0.0.1 is in use`);
  });
});

describe('tokenwise route', () => {
  it('writes one decision per line', async () => {
    const result = await runCli(
      ['route'],
      {},
      '{"prompt":"Hi there"}\n{"prompt":"Prove that the square root of 2 is irrational."}\n',
    );

    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      const decision = JSON.parse(line) as {
        tier: string;
        score: number;
        reasons: string[];
      };
      expect(['cheap', 'premium']).toContain(decision.tier);
      expect(decision.score).toBeGreaterThanOrEqual(0);
      expect(decision.score).toBeLessThanOrEqual(1);
      expect(Array.isArray(decision.reasons)).toBe(true);
    }
  });
});
