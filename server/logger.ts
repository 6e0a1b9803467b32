/**
 * The backend's one logger: pino, JSON lines on standard output. Callers
 * log ids, counts and durations; never a question, an answer, an install
 * token or a key. The redaction list is a second line of defence for the
 * field names that would carry them.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from './config';

export type { Logger };

export interface CreateLoggerOptions {
  level: LogLevel;
  /** Destination of the log lines; defaults to standard output. */
  destination?: DestinationStream;
}

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
  const settings = {
    level: options.level,
    base: { service: 'tokenwise' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  };
  return options.destination
    ? pino(settings, options.destination)
    : pino(settings);
}
