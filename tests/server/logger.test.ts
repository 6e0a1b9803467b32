/**
 * The backend logger's buffered destination on real file descriptors: a
 * line waits for the buffer or the flush timer, never longer than the
 * timer, keeps its order, and reaches the output when the process exits
 * right after logging it.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { REPOSITORY_ROOT } from '../../scripts/harness/backend';
import {
  createBufferedDestination,
  createLogger,
  LOG_BUFFER_BYTES,
} from '../../server/logger';
import { createTempDirectory } from './helpers';

const TSX_CLI = path.join(REPOSITORY_ROOT, 'node_modules/tsx/dist/cli.mjs');
const LOGGER_MODULE = path.join(REPOSITORY_ROOT, 'server/logger.ts');

function readLines(file: string): Array<{ msg: string; index?: number }> {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as { msg: string; index?: number });
}

describe('buffered log destination', () => {
  let temp: { directory: string; remove: () => void };
  let file: string;
  let fd: number;

  beforeEach(() => {
    temp = createTempDirectory();
    file = path.join(temp.directory, 'log.jsonl');
    fd = openSync(file, 'w');
  });

  afterEach(() => {
    closeSync(fd);
    temp.remove();
  });

  it('holds a short line in the buffer', () => {
    const destination = createBufferedDestination({
      fd,
      flushIntervalMs: 60_000,
    });
    const logger = createLogger({ level: 'info', destination });

    logger.info('quiet line');

    expect(readFileSync(file, 'utf8')).toBe('');
  });

  it('timer writes a quiet line', async () => {
    const destination = createBufferedDestination({ fd, flushIntervalMs: 20 });
    const logger = createLogger({ level: 'info', destination });

    logger.info('quiet line');

    await vi.waitFor(() => {
      expect(readLines(file).map((line) => line.msg)).toEqual(['quiet line']);
    });
  });

  it('timer writes a line left after a write', async () => {
    const destination = createBufferedDestination({
      fd,
      minLength: 256,
      flushIntervalMs: 20,
    });
    const logger = createLogger({ level: 'info', destination });

    // The first line passes minLength and starts a write; the short one
    // after it stays below minLength, so only the timer writes it.
    logger.info({ padding: 'x'.repeat(300) }, 'long line');
    logger.info('short line');

    await vi.waitFor(() => {
      expect(readLines(file).map((line) => line.msg)).toEqual([
        'long line',
        'short line',
      ]);
    });
  });

  it('keeps many lines whole and in order', async () => {
    const destination = createBufferedDestination({ fd, flushIntervalMs: 20 });
    const logger = createLogger({ level: 'info', destination });
    const count = Math.ceil((LOG_BUFFER_BYTES * 20) / 100);

    for (let index = 0; index < count; index++) {
      logger.info({ index }, 'numbered line');
    }

    await vi.waitFor(() => {
      expect(readLines(file)).toHaveLength(count);
    });
    const indexes = readLines(file).map((line) => line.index);
    expect(indexes).toEqual(Array.from({ length: count }, (_, index) => index));
  });
});

describe('default logger at exit', () => {
  let temp: { directory: string; remove: () => void };

  beforeEach(() => {
    temp = createTempDirectory();
  });

  afterEach(() => {
    temp.remove();
  });

  it.each([
    ['process.exit', 'process.exit(0);'],
    ['an empty event loop', ''],
  ])('writes the last line on %s', (_name, ending) => {
    const script = path.join(temp.directory, 'log-and-exit.mts');
    writeFileSync(
      script,
      [
        `import { createLogger } from ${JSON.stringify(LOGGER_MODULE)};`,
        "const logger = createLogger({ level: 'info' });",
        "logger.info('last words');",
        ending,
      ].join('\n'),
    );

    const child = spawnSync(process.execPath, [TSX_CLI, script], {
      cwd: REPOSITORY_ROOT,
      encoding: 'utf8',
      timeout: 30_000,
    });

    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    const messages = child.stdout
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => (JSON.parse(line) as { msg: string }).msg);
    expect(messages).toEqual(['last words']);
  });
});
