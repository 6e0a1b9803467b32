/**
 * The backend's one logger: pino, JSON lines on standard output. Callers
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
  return options.destination
    ? pino(settings, options.destination)
    : pino(settings);
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
  ];
}
