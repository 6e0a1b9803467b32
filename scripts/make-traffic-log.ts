/**
 * Builds a realistic traffic log for `tokenwise simulate` from the shared
 * evaluation data: Banking77 customer questions (many people asking the
 * same things) mixed with labeled MMLU and GSM8K prompts, so the bill can
 * report the quality retained.
 *
 * The model, with a fixed seed:
 * - installs differ in activity: install i is picked with weight 1 / (i + 1);
 * - 20% of requests repeat one of the same install's earlier questions,
 *   retyped (case, spacing or trailing punctuation changed);
 * - 25% ask one of 200 popular Banking77 questions, picked with weight
 *   1 / (rank + 1), so installs repeat each other;
 * - 15% ask a labeled MMLU or GSM8K prompt; the rest a random Banking77
 *   question.
 *
 * Usage: npx tsx scripts/make-traffic-log.ts [--requests N] [--installs N]
 *        [--seed N] [--out FILE]   (writes standard output without --out)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createRandom } from './eval-cache';

const DATA = path.resolve(import.meta.dirname, '../../shared/data');
const POPULAR_QUESTIONS = 200;

interface TrafficLine {
  prompt: string;
  install: string;
  weak_correct?: boolean;
  strong_correct?: boolean;
}

function readJsonLines<Row>(file: string): Row[] {
  return readFileSync(path.join(DATA, file), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Row);
}

/** Builds the log in memory. */
export function buildTrafficLog(options: {
  requests: number;
  installs: number;
  seed: number;
}): TrafficLine[] {
  const random = createRandom(options.seed);
  const banking = readJsonLines<{ text: string }>(
    'intents-banking77-dev.jsonl',
  ).map((row) => row.text);
  const labeled = [
    ...readJsonLines<TrafficLine>('routing-mmlu-dev.jsonl'),
    ...readJsonLines<TrafficLine>('routing-gsm8k-dev.jsonl'),
  ];
  const popular = Array.from(
    { length: POPULAR_QUESTIONS },
    () => banking[Math.floor(random() * banking.length)] as string,
  );
  const pickWeighted = (count: number): number => {
    const weights = Array.from(
      { length: count },
      (_, index) => 1 / (index + 1),
    );
    let target = random() * weights.reduce((sum, value) => sum + value, 0);
    for (const [index, weight] of weights.entries()) {
      target -= weight;
      if (target < 0) {
        return index;
      }
    }
    return count - 1;
  };

  const history = new Map<string, TrafficLine[]>();
  const lines: TrafficLine[] = [];
  for (let index = 0; index < options.requests; index++) {
    const install = `install-${pickWeighted(options.installs) + 1}`;
    const earlier = history.get(install) ?? [];
    const roll = random();
    let line: TrafficLine;
    if (roll < 0.2 && earlier.length > 0) {
      const repeated = earlier[
        Math.floor(random() * earlier.length)
      ] as TrafficLine;
      line = { ...repeated, prompt: retype(repeated.prompt, random) };
    } else if (roll < 0.45) {
      line = {
        prompt: popular[pickWeighted(POPULAR_QUESTIONS)] as string,
        install,
      };
    } else if (roll < 0.6) {
      const row = labeled[Math.floor(random() * labeled.length)] as TrafficLine;
      line = {
        prompt: row.prompt,
        install,
        weak_correct: row.weak_correct,
        strong_correct: row.strong_correct,
      };
    } else {
      line = {
        prompt: banking[Math.floor(random() * banking.length)] as string,
        install,
      };
    }
    line.install = install;
    earlier.push(line);
    history.set(install, earlier);
    lines.push(line);
  }
  return lines;
}

/** Retypes a question the way people do: case, spacing, final punctuation. */
function retype(prompt: string, random: () => number): string {
  const roll = random();
  if (roll < 0.25) {
    return prompt.toLowerCase();
  }
  if (roll < 0.5) {
    return `${prompt.replace(/[?.!]+$/, '')}?`;
  }
  if (roll < 0.75) {
    return `  ${prompt.replace(/ /g, '  ')} `;
  }
  return prompt;
}

function main(): void {
  const { values } = parseArgs({
    options: {
      requests: { type: 'string', default: '20000' },
      installs: { type: 'string', default: '500' },
      seed: { type: 'string', default: '7' },
      out: { type: 'string' },
    },
  });
  const lines = buildTrafficLog({
    requests: Number(values.requests),
    installs: Number(values.installs),
    seed: Number(values.seed),
  });
  const text = `${lines.map((line) => JSON.stringify(line)).join('\n')}\n`;
  if (values.out === undefined) {
    process.stdout.write(text);
  } else {
    writeFileSync(values.out, text);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main();
}
