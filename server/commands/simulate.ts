/**
 * `tokenwise simulate`: replays a traffic log through the router and both
 * answer caches (server/cache/traffic-simulation.ts) and prints the bill,
 * so a developer can see what routing and caching save before running the
 * backend.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { formatModelRef, parseModelRef } from '../../lib/catalog';
import {
  logLineSchema,
  MAX_ESTIMATED_OUTPUT_TOKENS,
  simulateTraffic,
  type LogLine,
  type SimulationBill,
} from '../cache/traffic-simulation';

/** Default models, the backend's own defaults. */
const DEFAULT_CHEAP_MODEL = 'gemini:gemini-3-flash';
const DEFAULT_PREMIUM_MODEL = 'openai:gpt-5.5';

export const SIMULATE_HELP = `Usage: tokenwise simulate --log FILE.jsonl [options]

Replays a traffic log through the router and the answer caches and prints
the bill. Each log line is {"prompt": "...", "install": "...",
"weak_correct": true|false, "strong_correct": true|false}; only "prompt" is
required ("install" defaults to one shared install).

Output tokens are estimated as 120 + 2 x the question's tokens, at most
${MAX_ESTIMATED_OUTPUT_TOKENS}; input tokens are counted over the backend's real prompt. Dollars
use the built-in price catalog, with no provider prompt-cache discount.

Options:
  --log FILE             the traffic log (required)
  --shared               turn on the backend's shared scope for questions
                         without context (TOKENWISE_SHARED_CACHE=true)
  --no-cache             replay without any cache
  --cheap-model MODEL    cheap tier's model (default ${DEFAULT_CHEAP_MODEL})
  --premium-model MODEL  premium tier's model (default ${DEFAULT_PREMIUM_MODEL})
  --json                 print the bill as one JSON object
  --help                 show this help
`;
/** Formats the bill as a text table. */
export function formatBill(bill: SimulationBill): string {
  const percent = (value: number) => `${(value * 100).toFixed(1)}%`;
  const dollars = (value: number) => `$${value.toFixed(4)}`;
  const row = (cells: string[]) =>
    cells
      .map((cell, index) => (index === 0 ? cell.padEnd(34) : cell.padStart(14)))
      .join('');
  const hits =
    bill.cache.extensionHits +
    bill.cache.backendSharedHits +
    bill.cache.backendPrivateHits;
  const lines = [
    `Requests: ${bill.requests} from ${bill.installs} installs; routed cheap ${bill.routed.cheap}, premium ${bill.routed.premium}.`,
    `Caches: ${bill.cacheEnabled ? `extension exact per install, backend per install${bill.sharedScope ? ', backend shared scope' : ''}` : 'off'}.`,
    '',
    row(['', 'requests', 'input tokens', 'output tokens', 'dollars']),
  ];
  for (const tier of ['cheap', 'premium'] as const) {
    const calls = bill.providerCalls[tier];
    lines.push(
      row([
        `${tier} (${calls.model})`,
        String(calls.requests),
        String(calls.inputTokens),
        String(calls.outputTokens),
        dollars(calls.costUsd),
      ]),
    );
  }
  lines.push(
    row(['cache hits (free)', String(hits), '', '', dollars(0)]),
    row(['total', String(bill.requests), '', '', dollars(bill.totalUsd)]),
    '',
    `Cache hit rate: ${percent(bill.cache.hitRate)} (extension ${bill.cache.extensionHits}, backend shared ${bill.cache.backendSharedHits}, backend per install ${bill.cache.backendPrivateHits}); ${bill.cache.savedTokens} provider tokens saved.`,
    `Premium only, no cache: ${dollars(bill.premiumOnlyUsd)}; savings ${percent(bill.savingsVsPremiumOnly)}.`,
    `Routed, no cache: ${dollars(bill.noCacheUsd)}; savings ${percent(bill.savingsVsNoCache)}.`,
  );
  if (bill.quality) {
    lines.push(
      `Quality on ${bill.quality.labeledRequests} labeled requests: ${percent(bill.quality.accuracy)} correct against ${percent(bill.quality.premiumOnlyAccuracy)} premium only, ${percent(bill.quality.retained)} retained.`,
    );
  } else {
    lines.push('Quality: no request carries weak_correct and strong_correct.');
  }
  return `${lines.join('\n')}\n`;
}

export interface SimulateCommandOptions {
  args: string[];
  output: NodeJS.WritableStream;
  errorOutput: NodeJS.WritableStream;
}

/**
 * Runs the simulate command. Returns the exit code: 0 on success, 1 when
 * the log cannot be read, 2 on an invalid option.
 */
export function runSimulateCommand(options: SimulateCommandOptions): number {
  let values;
  try {
    ({ values } = parseArgs({
      args: options.args,
      options: {
        log: { type: 'string' },
        shared: { type: 'boolean', default: false },
        'no-cache': { type: 'boolean', default: false },
        'cheap-model': { type: 'string', default: DEFAULT_CHEAP_MODEL },
        'premium-model': { type: 'string', default: DEFAULT_PREMIUM_MODEL },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    options.errorOutput.write(
      `tokenwise simulate: ${(error as Error).message}. Run tokenwise simulate --help for the options.\n`,
    );
    return 2;
  }
  if (values.help) {
    options.output.write(SIMULATE_HELP);
    return 0;
  }
  if (values.log === undefined) {
    options.errorOutput.write(
      'tokenwise simulate: --log FILE is required. Run tokenwise simulate --help.\n',
    );
    return 2;
  }

  let cheapModel: string;
  let premiumModel: string;
  try {
    cheapModel = formatModelRef(parseModelRef(values['cheap-model']));
    premiumModel = formatModelRef(parseModelRef(values['premium-model']));
  } catch (error) {
    options.errorOutput.write(
      `tokenwise simulate: ${(error as Error).message}\n`,
    );
    return 2;
  }

  let lines: LogLine[];
  try {
    lines = readLog(values.log);
  } catch (error) {
    options.errorOutput.write(
      `tokenwise simulate: ${(error as Error).message}\n`,
    );
    return 1;
  }

  const bill = simulateTraffic({
    lines,
    sharedScope: values.shared,
    cacheEnabled: !values['no-cache'],
    cheapModel,
    premiumModel,
  });
  options.output.write(
    values.json ? `${JSON.stringify(bill)}\n` : formatBill(bill),
  );
  return 0;
}

/** Reads and validates the log; throws an Error naming the first bad line. */
function readLog(file: string): LogLine[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(
      `could not read the log ${file}: ${(error as Error).message}.`,
      { cause: error },
    );
  }
  const lines: LogLine[] = [];
  const rows = text.split('\n');
  for (const [index, row] of rows.entries()) {
    if (row.trim() === '') {
      continue;
    }
    let value: unknown;
    try {
      value = JSON.parse(row);
    } catch {
      throw new Error(`line ${index + 1} of ${file} is not valid JSON.`);
    }
    const parsed = logLineSchema.safeParse(value);
    if (!parsed.success) {
      throw new Error(
        `line ${index + 1} of ${file} needs "prompt" (a non-empty string); "install" must be a string and the labels booleans.`,
      );
    }
    lines.push(parsed.data);
  }
  return lines;
}
