/**
 * Help text of the `tokenwise` command, written from the table of
 * configuration variables so it lists every one with its unit and default.
 */
import { CONFIG_VARIABLES, type ConfigVariable } from '../config-variables';

/** Formats `tokenwise --help`. */
export function formatMainHelp(): string {
  return [
    'Usage: tokenwise <command> [options]',
    '',
    'Commands:',
    '  serve    Start the backend HTTP server (tokenwise serve --help for its options).',
    '  route    Read questions as JSON Lines on standard input and write one',
    '           routing decision per line: {"tier","score","reasons"}.',
    '  similar  Read question pairs {"q1","q2"} as JSON Lines on standard input',
    '           and write {"similar","score"} per line.',
    '  simulate Replay a traffic log through the router and the answer caches',
    '           and print the bill (tokenwise simulate --help).',
    "  admin    Grant tokens, change a plan or show an install's usage, over",
    '           the admin API or on the database (tokenwise admin --help).',
    '',
    'Options:',
    '  -h, --help    Show this help.',
    '',
    'Exit codes: 0 success, 1 failure, 2 unknown command or option.',
    '',
    formatVariables(),
  ].join('\n');
}

/** Formats `tokenwise serve --help`. */
export function formatServeHelp(): string {
  const options = CONFIG_VARIABLES.filter((variable) => variable.option);
  return [
    'Usage: tokenwise serve [options]',
    '',
    'Starts the backend: creates and migrates the database, then serves',
    'POST /v1/installs, POST /v1/chat, GET /v1/usage, GET /healthz and the',
    'admin endpoints under /v1/admin/ (with TOKENWISE_ADMIN_KEY).',
    'SIGINT or SIGTERM stops it after the answers in flight finish.',
    '',
    'Options (each overrides its environment variable):',
    ...options.map((variable) => formatOption(variable)),
    `${'  -h, --help'.padEnd(25)}Show this help.`,
    '',
    formatVariables(),
  ].join('\n');
}

/** Width that help lines are wrapped to, in characters. */
const HELP_WIDTH = 80;

function formatOption(variable: ConfigVariable): string {
  const indent = ' '.repeat(25);
  const name = `  ${variable.option} <value>`.padEnd(25);
  const text = `${variable.description} Unit: ${variable.unit}. Default: ${variable.defaultValue ?? 'unset'} (${variable.name}).`;
  return wrap(text, indent).replace(indent, name);
}

function formatVariables(): string {
  const lines = [
    'Environment variables (also read from a .env file in the working folder;',
    'real environment variables win):',
  ];
  for (const variable of CONFIG_VARIABLES) {
    lines.push(`  ${variable.name}`);
    lines.push(wrap(variable.description, '      '));
    lines.push(
      wrap(
        `Unit: ${variable.unit}. Default: ${variable.defaultValue ?? 'unset'}.`,
        '      ',
      ),
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Wraps text at word boundaries, each line starting with `indent`. */
function wrap(text: string, indent: string): string {
  const lines: string[] = [];
  let line = indent;
  for (const word of text.split(' ')) {
    if (line !== indent && line.length + 1 + word.length > HELP_WIDTH) {
      lines.push(line);
      line = indent;
    }
    line = line === indent ? `${indent}${word}` : `${line} ${word}`;
  }
  lines.push(line);
  return lines.join('\n');
}
