/**
 * Shared pieces of the backend tests: temporary folders, configuration
 * without the developer's environment, a logger that keeps its lines, a
 * real backend on a free port, and an SSE reader that validates every
 * event against the protocol.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { expect } from 'vitest';
import type { z } from 'zod';
import { readSseStream } from '../../lib/sse';
import {
  chatEventSchemas,
  errorBodySchema,
  registerInstallResponseSchema,
  type ChatEvent,
  type ChatEventName,
  type ChatRequest,
  type ErrorBody,
  type RegisterInstallResponse,
} from '../../lib/protocol';
import { loadConfig, type Config } from '../../server/config';
import {
  createLogger,
  listConfiguredSecrets,
  type Logger,
} from '../../server/logger';
import { startServer, type RunningServer } from '../../server/server';

/** A fixed install secret, so tests can sign their own tokens. */
export const TEST_INSTALL_SECRET = 'test-install-secret-0123456789abcdef';

/** Creates a temporary folder and returns it with a function that removes it. */
export function createTempDirectory(): {
  directory: string;
  remove: () => void;
} {
  const directory = mkdtempSync(path.join(tmpdir(), 'tokenwise-test-'));
  return {
    directory,
    remove: () => rmSync(directory, { recursive: true, force: true }),
  };
}

/**
 * Builds a configuration from `env` alone: no `.env` file and none of the
 * developer's variables, so no default provider URL is reachable with a
 * key. The database goes in `directory`.
 */
export function createTestConfig(
  directory: string,
  env: Record<string, string> = {},
): Config {
  return loadConfig({
    env: {
      PORT: '0',
      TOKENWISE_DATABASE_URL: path.join(directory, 'tokenwise.db'),
      TOKENWISE_INSTALL_SECRET: TEST_INSTALL_SECRET,
      ...env,
    },
    envFile: false,
    cwd: directory,
  });
}

/** Creates a logger that keeps every line it writes, parsed. */
export function createCapturingLogger(
  secrets: ReadonlyArray<string | undefined> = [],
): {
  logger: Logger;
  lines: Array<Record<string, unknown>>;
  text: () => string;
} {
  const raw: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      raw.push(chunk.toString('utf8'));
      callback();
    },
  });
  const logger = createLogger({ level: 'debug', destination, secrets });
  return {
    logger,
    get lines() {
      return raw
        .join('')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    },
    text: () => raw.join(''),
  };
}

export interface TestBackend extends RunningServer {
  config: Config;
  logs: ReturnType<typeof createCapturingLogger>;
}

/** Starts a real backend on 127.0.0.1 at a free port. */
export async function startTestBackend(
  directory: string,
  env: Record<string, string> = {},
): Promise<TestBackend> {
  const config = createTestConfig(directory, env);
  const logs = createCapturingLogger(listConfiguredSecrets(config));
  const server = await startServer({ config, logger: logs.logger });
  return Object.assign(server, { config, logs });
}

/** Registers an install and returns its id and token. */
export async function registerInstall(
  baseUrl: string,
): Promise<RegisterInstallResponse> {
  const response = await fetch(`${baseUrl}/v1/installs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ extensionVersion: '0.1.0', browser: 'test' }),
  });
  if (response.status !== 201) {
    throw new Error(
      `Registration returned ${response.status}: ${await response.text()}`,
    );
  }
  return registerInstallResponseSchema.parse(await response.json());
}

/** Posts a chat request with a bearer token. */
export function postChat(
  baseUrl: string,
  token: string | undefined,
  body: ChatRequest | string,
  signal?: AbortSignal,
): Promise<Response> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
  };
  if (token !== undefined) {
    headers.authorization = `Bearer ${token}`;
  }
  return fetch(`${baseUrl}/v1/chat`, {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal,
  });
}

/**
 * Reads a chat response's event stream to its end, parsing each event with
 * its schema; throws on an unknown event name or invalid data.
 */
export async function readChatEvents(response: Response): Promise<ChatEvent[]> {
  if (!response.body) {
    throw new Error('The chat response has no body.');
  }
  const events: ChatEvent[] = [];
  for await (const message of readSseStream(response.body)) {
    const name = message.event as ChatEventName;
    const schema = chatEventSchemas[name];
    if (!schema) {
      throw new Error(`Unknown chat event "${message.event}".`);
    }
    events.push({
      event: name,
      data: schema.parse(JSON.parse(message.data)),
    } as ChatEvent);
  }
  return events;
}

/** Returns the data of the first event with a name, or throws. */
export function findEvent<Name extends ChatEventName>(
  events: ChatEvent[],
  name: Name,
): z.infer<(typeof chatEventSchemas)[Name]> {
  const event = events.find((candidate) => candidate.event === name);
  if (!event) {
    throw new Error(
      `No "${name}" event among: ${events.map((candidate) => candidate.event).join(', ')}.`,
    );
  }
  return event.data as unknown as z.infer<(typeof chatEventSchemas)[Name]>;
}

/** Parses an error response body with errorBodySchema. */
export async function readErrorBody(response: Response): Promise<ErrorBody> {
  return errorBodySchema.parse(await response.json());
}

/** Polls `check` until it returns true; throws after `attempts` tries. */
export async function waitUntil(
  check: () => Promise<boolean> | boolean,
  description: string,
  attempts = 200,
): Promise<void> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (await check()) {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`Timed out waiting until ${description}.`);
}

/**
 * Checks a refused request of a burst: 402 when the allowance cannot cover
 * it, or 429 with a wait while answers in progress still hold the tokens
 * it needs, because they may settle below their reservations.
 */
export function expectAllowanceRefusal(result: {
  status: number;
  error?: {
    error: { code: string; resetAt?: string; retryAfterSeconds?: number };
  };
}): void {
  if (result.status === 429) {
    expect(result.error?.error.code).toBe('rate_limited');
    expect(result.error?.error.retryAfterSeconds).toBeGreaterThan(0);
    return;
  }
  expect(result.status).toBe(402);
  expect(result.error?.error.code).toBe('allowance_exhausted');
  expect(result.error?.error.resetAt).toBeDefined();
}
