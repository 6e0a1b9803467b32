/**
 * `tokenwise similar`: scores pairs of questions read as JSON Lines with
 * the similarity the side panel uses (lib/similarity.ts), one result per
 * line.
 */
import { createInterface } from 'node:readline';
import { z } from 'zod';
import {
  scoreQuestionSimilarity,
  SIMILARITY_THRESHOLD,
} from '../../lib/similarity';

export const SIMILAR_HELP = `Usage: tokenwise similar

Reads JSON Lines pairs {"q1": "...", "q2": "..."} on standard input and
writes one line per pair, {"similar": true|false, "score": 0..1}, on
standard output. Two questions are similar when the score is at least
${SIMILARITY_THRESHOLD}; a pair that differs in a number, a negation or a named
entity is never similar. A line that cannot be read gets {"error": "..."}
naming its line number, and the exit code is then 1.

Options:
  --help  show this help
`;

const pairSchema = z.object({ q1: z.string(), q2: z.string() });

export interface SimilarCommandOptions {
  args: string[];
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
}

/**
 * Runs the similar command. Returns the exit code: 0 when every line was
 * scored, 1 when any line failed, 2 on an unknown option.
 */
export async function runSimilarCommand(
  options: SimilarCommandOptions,
): Promise<number> {
  if (options.args.includes('--help')) {
    options.output.write(SIMILAR_HELP);
    return 0;
  }
  const unknown = options.args[0];
  if (unknown !== undefined) {
    options.output.write(
      `${JSON.stringify({ error: `Unknown option "${unknown}". Run tokenwise similar --help.` })}\n`,
    );
    return 2;
  }

  let failed = false;
  let lineNumber = 0;
  const lines = createInterface({ input: options.input, crlfDelay: Infinity });
  for await (const line of lines) {
    lineNumber += 1;
    if (line.trim() === '') {
      continue;
    }
    const result = scoreLine(line, lineNumber);
    failed ||= 'error' in result;
    options.output.write(`${JSON.stringify(result)}\n`);
  }
  return failed ? 1 : 0;
}

function scoreLine(
  line: string,
  lineNumber: number,
): { similar: boolean; score: number } | { error: string } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { error: `Line ${lineNumber} is not valid JSON.` };
  }
  const parsed = pairSchema.safeParse(value);
  if (!parsed.success) {
    return {
      error: `Line ${lineNumber} needs "q1" and "q2", both strings.`,
    };
  }
  const score = scoreQuestionSimilarity(parsed.data.q1, parsed.data.q2);
  return {
    similar: score >= SIMILARITY_THRESHOLD,
    score: Math.round(score * 10_000) / 10_000,
  };
}
