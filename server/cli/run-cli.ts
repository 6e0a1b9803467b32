/**
 * The `tokenwise` command line: `serve` starts the backend, `route` runs the
 * router over JSON Lines, `similar` scores question pairs and `simulate`
 * replays a traffic log into a bill. Exit codes: 0 success, 1 failure (invalid
 * configuration, a port in use), 2 usage error (unknown command or option).
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config';
import { createLogger, listConfiguredSecrets } from '../logger';
import { startServer } from '../server';
import { formatMainHelp, formatServeHelp } from './help';

export interface CliIo {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  /** Resolves when the process is asked to stop (SIGINT or SIGTERM). */
  waitForStopSignal: () => Promise<string>;
}

export const EXIT_SUCCESS = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** Runs the command line with its arguments (without node and the script) and returns the exit code. */
export async function runCli(args: string[], io: CliIo): Promise<number> {
  const [command, ...rest] = args;

  if (command === undefined || command === '--help' || command === '-h') {
    io.stdout.write(formatMainHelp());
    return command === undefined ? EXIT_USAGE : EXIT_SUCCESS;
  }
  if (command === 'serve') {
    return runServe(rest, io);
  }
  if (command === 'route') {
    return runRoute(rest, io);
  }
  if (command === 'admin') {
    const { runAdminCommand } = await import('../commands/admin');
    return runAdminCommand({
      args: rest,
      env: io.env,
      stdout: io.stdout,
      stderr: io.stderr,
    });
  }
  if (command === 'similar') {
    const { runSimilarCommand } = await import('../commands/similar');
    return runSimilarCommand({
      args: rest,
      input: io.stdin,
      output: io.stdout,
    });
  }
  if (command === 'simulate') {
    const { runSimulateCommand } = await import('../commands/simulate');
    return runSimulateCommand({
      args: rest,
      output: io.stdout,
      errorOutput: io.stderr,
    });
  }
  io.stderr.write(
    `tokenwise: unknown command "${command}". Run tokenwise --help for the list of commands.\n`,
  );
  return EXIT_USAGE;
}

async function runServe(args: string[], io: CliIo): Promise<number> {
  let values: {
    port?: string;
    host?: string;
    database?: string;
    help?: boolean;
  };
  try {
    ({ values } = parseArgs({
      args,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        database: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    io.stderr.write(
      `tokenwise serve: ${(error as Error).message}. Run tokenwise serve --help for the options.\n`,
    );
    return EXIT_USAGE;
  }
  if (values.help) {
    io.stdout.write(formatServeHelp());
    return EXIT_SUCCESS;
  }

  let config;
  try {
    config = loadConfig({
      env: io.env,
      overrides: {
        PORT: values.port,
        HOST: values.host,
        TOKENWISE_DATABASE_URL: values.database,
      },
    });
  } catch (error) {
    if (error instanceof ConfigError) {
      io.stderr.write(`tokenwise serve: ${error.message}\n`);
      return EXIT_FAILURE;
    }
    throw error;
  }

  const logger = createLogger({
    level: config.logLevel,
    secrets: listConfiguredSecrets(config),
  });
  let server;
  try {
    // The demo model pauses between deltas so that a client visibly streams.
    server = await startServer({ config, logger, demoDeltaDelayMs: 30 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const message =
      code === 'EADDRINUSE'
        ? `port ${config.port} on ${config.host} is in use. Stop the other process or choose another port with --port or PORT.`
        : `could not start: ${(error as Error).message}`;
    logger.fatal({ err: error }, 'backend failed to start');
    io.stderr.write(`tokenwise serve: ${message}\n`);
    return EXIT_FAILURE;
  }

  const signal = await io.waitForStopSignal();
  logger.info({ signal }, 'stop signal received');
  await server.stop();
  logger.flush();
  return EXIT_SUCCESS;
}

async function runRoute(args: string[], io: CliIo): Promise<number> {
  // Imported on demand, so `serve` does not load the router's code.
  const { runRouteCommand } = await import('../commands/route');
  return runRouteCommand({ args, input: io.stdin, output: io.stdout });
}
