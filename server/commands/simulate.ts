/**
 * `tokenwise simulate`: replays a traffic log through the router and both
 * answer caches and prints the bill, so a developer can see what routing
 * and caching save before running the backend.
 *
 * Each request, in log order:
 * 1. is routed with lib/router.ts (no history, no page context);
 * 2. is looked up in the extension's exact cache of its install (the key
 *    of lib/extension/cache-key.ts: install, normalized question, tier,
 *    model, system prompt version);
 * 3. on a miss, in the backend's shared scope when --shared is on, then
 *    in the backend's cache of its install;
 * 4. on a miss everywhere, is billed at the tier's model and stored in
 *    every cache it passed.
 *
 * NOTE: the log carries no times, so entries never expire and the
 * extension's size cap is not modelled.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import {
  computeCostUsd,
  DEFAULT_PRICES,
  formatModelRef,
  parseModelRef,
  UNKNOWN_PRICE,
  type ModelPrice,
} from '../../lib/catalog';
import { normalizeQuestion } from '../../lib/extension/normalize-question';
import type { Tier } from '../../lib/protocol';
import { routeQuestion } from '../../lib/router';
import { countTokens } from '../../lib/tokens';
import { buildPrompt } from '../prompt';

/** Default models, the backend's own defaults. */
const DEFAULT_CHEAP_MODEL = 'gemini:gemini-3-flash';
const DEFAULT_PREMIUM_MODEL = 'openai:gpt-5.5';

/** Output cap of the estimate, the backend's default TOKENWISE_MAX_OUTPUT_TOKENS. */
const MAX_ESTIMATED_OUTPUT_TOKENS = 1_024;

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

const logLineSchema = z.object({
  prompt: z.string().min(1),
  install: z.string().optional(),
  weak_correct: z.boolean().optional(),
  strong_correct: z.boolean().optional(),
});
type LogLine = z.infer<typeof logLineSchema>;

/** Tokens and dollars of one tier's provider calls. */
export interface TierBill {
  model: string;
  requests: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

/** The bill of one replay. */
export interface SimulationBill {
  requests: number;
  installs: number;
  sharedScope: boolean;
  cacheEnabled: boolean;
  routed: Record<Tier, number>;
  providerCalls: Record<Tier, TierBill>;
  cache: {
    extensionHits: number;
    backendSharedHits: number;
    backendPrivateHits: number;
    hitRate: number;
    /** Provider tokens the hits did not spend. */
    savedTokens: number;
    savedUsd: number;
  };
  totalUsd: number;
  /** Every request on the premium model, no cache. */
  premiumOnlyUsd: number;
  /** Every request routed, no cache. */
  noCacheUsd: number;
  savingsVsPremiumOnly: number;
  savingsVsNoCache: number;
  /** Present when some requests carry both labels. */
  quality?: {
    labeledRequests: number;
    /** Share answered correctly with routing and caching. */
    accuracy: number;
    /** Share the premium model answers correctly. */
    premiumOnlyAccuracy: number;
    /** accuracy / premiumOnlyAccuracy. */
    retained: number;
  };
}

export interface SimulateOptions {
  lines: LogLine[];
  sharedScope: boolean;
  cacheEnabled: boolean;
  cheapModel: string;
  premiumModel: string;
  prices?: Record<string, ModelPrice>;
}

interface CachedCall {
  tier: Tier;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  /** Whether the answer was correct, when the request was labeled. */
  correct?: boolean;
}

/** Estimates a question's output tokens: 120 + 2 x its tokens, capped. */
export function estimateOutputTokens(question: string): number {
  return Math.min(MAX_ESTIMATED_OUTPUT_TOKENS, 120 + 2 * countTokens(question));
}

/** Replays the log and returns the bill. */
export function simulateTraffic(options: SimulateOptions): SimulationBill {
  const prices = options.prices ?? DEFAULT_PRICES;
  const models: Record<Tier, string> = {
    cheap: options.cheapModel,
    premium: options.premiumModel,
  };
  const priceOf = (model: string) => prices[model] ?? UNKNOWN_PRICE;
  const extensionCaches = new Map<string, CachedCall>();
  const backendCaches = new Map<string, CachedCall>();
  const installs = new Set<string>();
  const bill = createEmptyBill(options, models);
  let correct = 0;
  let premiumCorrect = 0;
  let labeled = 0;

  for (const line of options.lines) {
    const install = line.install ?? 'default';
    installs.add(install);
    const { tier } = routeQuestion({ question: line.prompt });
    bill.routed[tier]++;
    const inputTokens = buildPrompt({
      question: line.prompt,
      history: [],
    }).inputTokens;
    const outputTokens = estimateOutputTokens(line.prompt);
    const counts = { inputTokens, cachedInputTokens: 0, outputTokens };
    const fresh: CachedCall = {
      tier,
      inputTokens,
      outputTokens,
      costUsd: computeCostUsd(priceOf(models[tier]), counts),
      correct: tier === 'cheap' ? line.weak_correct : line.strong_correct,
    };
    bill.premiumOnlyUsd += computeCostUsd(priceOf(models.premium), counts);
    bill.noCacheUsd += fresh.costUsd;

    const question = normalizeQuestion(line.prompt);
    const keys = {
      extension: JSON.stringify([install, question, tier, models[tier]]),
      shared: JSON.stringify(['shared', question, tier, models[tier]]),
      backend: JSON.stringify([
        'install',
        install,
        question,
        tier,
        models[tier],
      ]),
    };
    const served = options.cacheEnabled
      ? lookUp(keys, extensionCaches, backendCaches, options.sharedScope, bill)
      : undefined;
    const answer = served ?? fresh;
    if (served) {
      bill.cache.savedTokens += served.inputTokens + served.outputTokens;
      bill.cache.savedUsd += served.costUsd;
    } else {
      const calls = bill.providerCalls[tier];
      calls.requests++;
      calls.inputTokens += inputTokens;
      calls.outputTokens += outputTokens;
      calls.costUsd += fresh.costUsd;
      bill.totalUsd += fresh.costUsd;
    }
    if (options.cacheEnabled) {
      store(keys, answer, extensionCaches, backendCaches, options.sharedScope);
    }

    if (line.weak_correct !== undefined && line.strong_correct !== undefined) {
      labeled++;
      correct += answer.correct ? 1 : 0;
      premiumCorrect += line.strong_correct ? 1 : 0;
    }
  }

  return finishBill(bill, installs.size, { labeled, correct, premiumCorrect });
}

function createEmptyBill(
  options: SimulateOptions,
  models: Record<Tier, string>,
): SimulationBill {
  const emptyTier = (model: string): TierBill => ({
    model,
    requests: 0,
    inputTokens: 0,
    outputTokens: 0,
    costUsd: 0,
  });
  return {
    requests: options.lines.length,
    installs: 0,
    sharedScope: options.sharedScope,
    cacheEnabled: options.cacheEnabled,
    routed: { cheap: 0, premium: 0 },
    providerCalls: {
      cheap: emptyTier(models.cheap),
      premium: emptyTier(models.premium),
    },
    cache: {
      extensionHits: 0,
      backendSharedHits: 0,
      backendPrivateHits: 0,
      hitRate: 0,
      savedTokens: 0,
      savedUsd: 0,
    },
    totalUsd: 0,
    premiumOnlyUsd: 0,
    noCacheUsd: 0,
    savingsVsPremiumOnly: 0,
    savingsVsNoCache: 0,
  };
}

function lookUp(
  keys: { extension: string; shared: string; backend: string },
  extensionCaches: Map<string, CachedCall>,
  backendCaches: Map<string, CachedCall>,
  sharedScope: boolean,
  bill: SimulationBill,
): CachedCall | undefined {
  const local = extensionCaches.get(keys.extension);
  if (local) {
    bill.cache.extensionHits++;
    return local;
  }
  const shared = sharedScope ? backendCaches.get(keys.shared) : undefined;
  if (shared) {
    bill.cache.backendSharedHits++;
    return shared;
  }
  const own = backendCaches.get(keys.backend);
  if (own) {
    bill.cache.backendPrivateHits++;
    return own;
  }
  return undefined;
}

function store(
  keys: { extension: string; shared: string; backend: string },
  answer: CachedCall,
  extensionCaches: Map<string, CachedCall>,
  backendCaches: Map<string, CachedCall>,
  sharedScope: boolean,
): void {
  extensionCaches.set(keys.extension, answer);
  backendCaches.set(sharedScope ? keys.shared : keys.backend, answer);
}

function finishBill(
  bill: SimulationBill,
  installs: number,
  labels: { labeled: number; correct: number; premiumCorrect: number },
): SimulationBill {
  const hits =
    bill.cache.extensionHits +
    bill.cache.backendSharedHits +
    bill.cache.backendPrivateHits;
  const share = (part: number, whole: number) =>
    whole === 0 ? 0 : part / whole;
  const result: SimulationBill = {
    ...bill,
    installs,
    cache: { ...bill.cache, hitRate: share(hits, bill.requests) },
    savingsVsPremiumOnly: 1 - share(bill.totalUsd, bill.premiumOnlyUsd),
    savingsVsNoCache: 1 - share(bill.totalUsd, bill.noCacheUsd),
  };
  if (labels.labeled > 0) {
    const accuracy = share(labels.correct, labels.labeled);
    const premiumOnlyAccuracy = share(labels.premiumCorrect, labels.labeled);
    result.quality = {
      labeledRequests: labels.labeled,
      accuracy,
      premiumOnlyAccuracy,
      retained: share(accuracy, premiumOnlyAccuracy),
    };
  }
  return result;
}

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
