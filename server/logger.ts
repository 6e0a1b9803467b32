/**
 * The backend's one logger: pino, JSON lines on standard output, written
 * asynchronously in batches (see createBufferedDestination). Callers
 * log ids, counts and durations; never a question, an answer, an install
 * token or a key. The redaction list is a second line of defence for the
 * field names that would carry them.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import type { Config, LogLevel } from './config';

export type { Logger };

export interface CreateLoggerOptions {
  level: LogLevel;
  /** Destination of the log lines; defaults to standard output. */
  destination?: DestinationStream;
  /**
   * Secret values (provider keys, the admin key, the install secret) that
   * are replaced with "[redacted]" wherever they appear in a line, such as
   * inside a provider's error message that quotes the key it received.
   */
  secrets?: ReadonlyArray<string | undefined>;
}

/**
 * Bytes of log lines collected before they are written, so a busy backend
 * makes one write system call for many lines instead of one per line.
 */
export const LOG_BUFFER_BYTES = 4096;

/** Maximum time a buffered log line waits to be written, in milliseconds. */
export const LOG_FLUSH_INTERVAL_MS = 100;

/** Secrets shorter than this are not scrubbed, because they would match ordinary text. */
const MIN_SCRUBBED_SECRET_LENGTH = 8;

const REDACTED_PATHS = [
  'authorization',
  'token',
  'apiKey',
  'question',
  'answer',
  '*.authorization',
  '*.token',
  '*.apiKey',
  '*.question',
  '*.answer',
];

/** Creates the backend logger. */
export function createLogger(options: CreateLoggerOptions): Logger {
  const secrets = (options.secrets ?? []).filter(
    (secret): secret is string =>
      secret !== undefined && secret.length >= MIN_SCRUBBED_SECRET_LENGTH,
  );
  const settings = {
    level: options.level,
    base: { service: 'tokenwise' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    hooks: {
      streamWrite: (line: string) => scrubSecrets(line, secrets),
    },
  };
  return pino(
    settings,
    options.destination ?? createBufferedDestination({ fd: 1 }),
  );
}

/**
 * Creates a pino destination that writes to a file descriptor without
 * blocking the event loop: lines collect until `minLength` bytes, and a
 * timer writes what is left every `flushIntervalMs`, so a quiet backend
 * still logs promptly. pino writes the rest synchronously when the process
 * exits; callers that stop without exiting call `logger.flush()`.
 */
export function createBufferedDestination(options: {
  fd: number;
  minLength?: number;
  flushIntervalMs?: number;
}): DestinationStream {
  const destination = pino.destination({
    fd: options.fd,
    sync: false,
    minLength: options.minLength ?? LOG_BUFFER_BYTES,
  });

  // The timer flushes only when lines may be buffered, because sonic-boom's
  // flush of an empty buffer still makes a zero-byte write. A flush during
  // a write in progress does nothing, and the lines that arrived meanwhile
  // stay buffered after it, so each completed write arms the timer again.
  let written = false;
  const write = destination.write.bind(destination);
  destination.write = (line: string) => {
    written = true;
    return write(line);
  };
  destination.on('write', (bytes: number) => {
    if (bytes > 0) {
      written = true;
    }
  });
  const timer = setInterval(() => {
    // destroyed is set by destroy() before the close event clears the timer.
    const destroyed = (destination as { destroyed?: boolean }).destroyed;
    if (written && destroyed !== true) {
      written = false;
      destination.flush();
    }
  }, options.flushIntervalMs ?? LOG_FLUSH_INTERVAL_MS);
  timer.unref();
  destination.once('close', () => clearInterval(timer));
  return destination;
}

/** Replaces every occurrence of each secret in a log line with "[redacted]". */
export function scrubSecrets(line: string, secrets: readonly string[]): string {
  let scrubbed = line;
  for (const secret of secrets) {
    if (scrubbed.includes(secret)) {
      scrubbed = scrubbed.split(secret).join('[redacted]');
    }
  }
  return scrubbed;
}

/** Lists the secret values in a configuration, for `CreateLoggerOptions.secrets`. */
export function listConfiguredSecrets(
  config: Config,
): Array<string | undefined> {
  return [
    config.providers.openai.apiKey,
    config.providers.gemini.apiKey,
    config.providers.anthropic.apiKey,
    config.adminKey,
    config.installSecret,
    config.stripe.secretKey,
    config.stripe.webhookSecret,
  ];
}
