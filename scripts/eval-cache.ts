/**
 * Scores the question similarity (lib/similarity.ts) on the Banking77
 * development set: two questions with the same intent should match, two
 * with different intents must not. Prints the hit rate (same-intent pairs
 * matched) and the false-hit rate (different-intent pairs matched) at the
 * threshold in use, on the held-out part of the questions.
 *
 * The questions are split once, by a seeded shuffle, into a training part
 * (70%, used to choose SIMILARITY_THRESHOLD with --tune) and a held-out
 * part (30%). Pairs are sampled inside one part with a fixed seed.
 *
 * Usage: npm run eval:cache -- [--data FILE] [--pairs N] [--seed N] [--tune] [--json]
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  scoreQuestionSimilarity,
  SIMILARITY_THRESHOLD,
} from '../lib/similarity';

const DEFAULT_DATA = path.resolve(
  import.meta.dirname,
  '../../shared/data/intents-banking77-dev.jsonl',
);
const HELD_OUT_SHARE = 0.3;

interface LabeledQuestion {
  text: string;
  intent: string;
}

/** Pair counts and rates at one threshold. */
export interface PairScores {
  threshold: number;
  positivePairs: number;
  negativePairs: number;
  /** Share of same-intent pairs scored similar. */
  hitRate: number;
  /** Share of different-intent pairs scored similar. */
  falseHitRate: number;
}

/** Creates a seeded source of uniform random numbers in [0, 1) (mulberry32). */
export function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Reads Banking77-style JSON Lines: {"text", "intent"} per line. */
export function readLabeledQuestions(file: string): LabeledQuestion[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as LabeledQuestion);
}

/** Splits the questions into a training and a held-out part with a seeded shuffle. */
export function splitQuestions(
  questions: LabeledQuestion[],
  seed: number,
): { training: LabeledQuestion[]; heldOut: LabeledQuestion[] } {
  const random = createRandom(seed);
  const shuffled = [...questions];
  for (let index = shuffled.length - 1; index > 0; index--) {
    const other = Math.floor(random() * (index + 1));
    [shuffled[index], shuffled[other]] = [
      shuffled[other] as LabeledQuestion,
      shuffled[index] as LabeledQuestion,
    ];
  }
  const heldOutCount = Math.round(shuffled.length * HELD_OUT_SHARE);
  return {
    heldOut: shuffled.slice(0, heldOutCount),
    training: shuffled.slice(heldOutCount),
  };
}

/**
 * Samples `count` same-intent and `count` different-intent pairs and
 * returns their scores.
 */
export function scorePairs(
  questions: LabeledQuestion[],
  count: number,
  seed: number,
): { positives: number[]; negatives: number[] } {
  const random = createRandom(seed);
  const byIntent = new Map<string, LabeledQuestion[]>();
  for (const question of questions) {
    const group = byIntent.get(question.intent) ?? [];
    group.push(question);
    byIntent.set(question.intent, group);
  }
  const groups = [...byIntent.values()].filter((group) => group.length >= 2);
  const pick = <Item>(items: Item[]): Item =>
    items[Math.floor(random() * items.length)] as Item;

  const positives: number[] = [];
  while (positives.length < count) {
    const group = pick(groups);
    const first = pick(group);
    const second = pick(group);
    if (first !== second) {
      positives.push(scoreQuestionSimilarity(first.text, second.text));
    }
  }
  const negatives: number[] = [];
  while (negatives.length < count) {
    const first = pick(questions);
    const second = pick(questions);
    if (first.intent !== second.intent) {
      negatives.push(scoreQuestionSimilarity(first.text, second.text));
    }
  }
  return { positives, negatives };
}

/** Computes hit and false-hit rates at a threshold. */
export function rateAt(
  scores: { positives: number[]; negatives: number[] },
  threshold: number,
): PairScores {
  const matched = (values: number[]) =>
    values.filter((value) => value >= threshold).length / values.length;
  return {
    threshold,
    positivePairs: scores.positives.length,
    negativePairs: scores.negatives.length,
    hitRate: matched(scores.positives),
    falseHitRate: matched(scores.negatives),
  };
}

function formatPercent(value: number): string {
  return `${(value * 100).toFixed(2)}%`;
}

function main(): void {
  const { values } = parseArgs({
    options: {
      data: { type: 'string', default: DEFAULT_DATA },
      pairs: { type: 'string', default: '20000' },
      seed: { type: 'string', default: '77' },
      tune: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  const pairs = Number(values.pairs);
  const seed = Number(values.seed);
  if (!Number.isInteger(pairs) || pairs < 1 || !Number.isInteger(seed)) {
    process.stderr.write(
      'eval-cache: --pairs must be a positive whole number and --seed a whole number.\n',
    );
    process.exitCode = 2;
    return;
  }

  const questions = readLabeledQuestions(values.data);
  const { training, heldOut } = splitQuestions(questions, seed);

  if (values.tune) {
    const scores = scorePairs(training, pairs, seed + 1);
    process.stdout.write(
      `Threshold sweep on the training part (${training.length} questions, ${pairs} pairs of each kind):\n`,
    );
    for (let step = 40; step <= 95; step++) {
      const rates = rateAt(scores, step / 100);
      process.stdout.write(
        `  ${rates.threshold.toFixed(2)}  hit ${formatPercent(rates.hitRate)}  false hit ${formatPercent(rates.falseHitRate)}\n`,
      );
    }
    return;
  }

  const rates = rateAt(
    scorePairs(heldOut, pairs, seed + 2),
    SIMILARITY_THRESHOLD,
  );
  if (values.json) {
    process.stdout.write(
      `${JSON.stringify({ part: 'held-out', questions: heldOut.length, seed, ...rates })}\n`,
    );
    return;
  }
  process.stdout.write(
    [
      `Question similarity on Banking77 (${path.basename(values.data)})`,
      `Held-out part: ${heldOut.length} of ${questions.length} questions, never used for tuning.`,
      `Pairs: ${rates.positivePairs} same-intent and ${rates.negativePairs} different-intent, sampled with seed ${seed}.`,
      `Threshold in use: ${SIMILARITY_THRESHOLD}`,
      `Hit rate (same intent matched):           ${formatPercent(rates.hitRate)}`,
      `False-hit rate (different intent matched): ${formatPercent(rates.falseHitRate)}`,
      '',
    ].join('\n'),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main();
}
