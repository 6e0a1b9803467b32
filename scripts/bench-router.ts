/**
 * Measures how long one routeQuestion call takes, on real prompts of every
 * kind the router scores.
 *
 *   npx tsx scripts/bench-router.ts [--rounds N]   (N counts the warm-up round)
 *
 * Prompts come from the data folder (../shared/data beside the repository,
 * or TOKENWISE_DATA_DIR): the MMLU and GSM8K routing files and the Arena
 * Hard chat prompts. Each round routes every prompt once and times each
 * call; the first round only warms up the JavaScript engine. The script
 * prints the median, 99th percentile and maximum per prompt set, and the
 * time of the largest request the chat protocol accepts. On a loaded
 * machine the tail figures mostly measure the scheduler, so the load
 * average is printed beside them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { REQUEST_LIMITS } from '../lib/protocol';
import { routeQuestion, type RouteInput } from '../lib/router';
import { resolveDataDir } from './eval-routing';

/** Timed rounds when --rounds is not given; one warm-up round comes first. */
const DEFAULT_TIMED_ROUNDS = 5;

interface PromptSet {
  name: string;
  inputs: RouteInput[];
}

function main(): number {
  const roundsIndex = process.argv.indexOf('--rounds');
  const rounds =
    roundsIndex >= 0
      ? Number(process.argv[roundsIndex + 1])
      : DEFAULT_TIMED_ROUNDS + 1;
  if (!Number.isInteger(rounds) || rounds < 2) {
    console.error(
      `Invalid --rounds "${process.argv[roundsIndex + 1]}": use a whole number of at least 2 (the first round is a warm-up).`,
    );
    return 2;
  }

  const dataDir = resolveDataDir();
  let sets: PromptSet[];
  try {
    sets = [
      readPromptSet(dataDir, 'MMLU', 'routing-mmlu-dev.jsonl', 'prompt'),
      readPromptSet(dataDir, 'GSM8K', 'routing-gsm8k-dev.jsonl', 'prompt'),
      readPromptSet(
        dataDir,
        'Arena Hard chat',
        'prompts-arena-hard-v0.1.jsonl',
        'prompt',
      ),
    ];
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    return 1;
  }
  sets.push({ name: 'largest request', inputs: [buildLargestRequest()] });

  console.log(
    `routeQuestion timing, ${rounds - 1} timed rounds after 1 warm-up round, Node ${process.version}, load average ${loadavg()[0]!.toFixed(1)} at the start`,
  );
  for (const set of sets) {
    const timings = timeRounds(set.inputs, rounds);
    console.log(
      `${set.name} (${set.inputs.length} ${set.inputs.length === 1 ? 'input' : 'inputs'}): median ${formatMs(quantile(timings, 0.5))}, p99 ${formatMs(quantile(timings, 0.99))}, max ${formatMs(Math.max(...timings))}`,
    );
  }
  return 0;
}

function readPromptSet(
  dataDir: string,
  name: string,
  fileName: string,
  field: string,
): PromptSet {
  const filePath = path.join(dataDir, fileName);
  if (!existsSync(filePath)) {
    throw new Error(
      `Prompt file not found: looked for ${filePath}. Set TOKENWISE_DATA_DIR to the folder holding ${fileName}.`,
    );
  }
  const inputs = readFileSync(filePath, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, index) => {
      const value = (JSON.parse(line) as Record<string, unknown>)[field];
      if (typeof value !== 'string') {
        throw new Error(
          `${filePath} line ${index + 1} is missing the string field "${field}".`,
        );
      }
      return { question: value };
    });
  return { name, inputs };
}

function buildLargestRequest(): RouteInput {
  const sentence = 'Compare the two designs and explain the trade-offs. ';
  const fill = (chars: number) =>
    sentence.repeat(Math.ceil(chars / sentence.length)).slice(0, chars);
  return {
    question: fill(REQUEST_LIMITS.questionChars),
    history: Array.from(
      { length: REQUEST_LIMITS.historyMessages },
      (_, index) => ({
        role: index % 2 === 0 ? ('user' as const) : ('assistant' as const),
        content: fill(REQUEST_LIMITS.messageChars),
      }),
    ),
    pageContext: {
      title: 'A long page',
      url: 'https://example.com/page',
      text: fill(REQUEST_LIMITS.pageTextChars),
    },
  };
}

/** Times each call of every round but the first, in milliseconds. */
function timeRounds(inputs: readonly RouteInput[], rounds: number): number[] {
  const timings: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    for (const input of inputs) {
      const started = performance.now();
      routeQuestion(input);
      const elapsed = performance.now() - started;
      if (round > 0) {
        timings.push(elapsed);
      }
    }
  }
  return timings;
}

function quantile(values: readonly number[], fraction: number): number {
  const sorted = [...values].sort((left, right) => left - right);
  const index = Math.min(
    sorted.length - 1,
    Math.max(0, Math.ceil(fraction * sorted.length) - 1),
  );
  return sorted[index]!;
}

function formatMs(milliseconds: number): string {
  return `${milliseconds.toFixed(3)} ms`;
}

process.exitCode = main();
