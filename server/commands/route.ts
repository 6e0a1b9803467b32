/**
 * `tokenwise route`: routes questions read as JSON Lines and writes one
 * decision per line, so the router can be tried and scripted without the
 * backend running.
 */
import { createInterface } from 'node:readline';
import { z } from 'zod';
import type { ChatMessage } from '../../lib/protocol';
import { DEFAULT_PREMIUM_THRESHOLD, routeQuestion } from '../../lib/router';

export const ROUTE_HELP = `Usage: tokenwise route [--threshold SCORE]

Reads JSON Lines on standard input and writes one routing decision per line,
{"tier","score","reasons"}, on standard output.

Each input line has either "prompt" (the question) or "turns" (a list of
strings: the last is the question, the earlier ones alternate user and
assistant turns, starting with the user). A line that cannot be read gets
{"error": "..."} naming its line number, and the exit code is then 1.

Options:
  --threshold SCORE  score from 0 to 1 at or above which a question goes
                     premium (default ${DEFAULT_PREMIUM_THRESHOLD})
  --help             show this help
`;

const routeLineSchema = z.union([
  z.object({ prompt: z.string() }),
  z.object({ turns: z.array(z.string()).min(1) }),
]);

export interface RouteCommandOptions {
  args: string[];
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
}

/**
 * Runs the route command. Returns the exit code: 0 when every line was
 * routed, 1 when any line failed, 2 on an invalid option.
 */
export async function runRouteCommand(
  options: RouteCommandOptions,
): Promise<number> {
  if (options.args.includes('--help')) {
    options.output.write(ROUTE_HELP);
    return 0;
  }
  const threshold = parseThreshold(options.args);
  if (typeof threshold === 'string') {
    options.output.write(`${JSON.stringify({ error: threshold })}\n`);
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
    const result = routeLine(line, lineNumber, threshold);
    failed ||= 'error' in result;
    options.output.write(`${JSON.stringify(result)}\n`);
  }
  return failed ? 1 : 0;
}

/** Returns the --threshold value, or an error message when it is invalid. */
function parseThreshold(args: readonly string[]): number | string {
  const index = args.indexOf('--threshold');
  if (index < 0) {
    return DEFAULT_PREMIUM_THRESHOLD;
  }
  const text = args[index + 1];
  const value = Number(text);
  if (text === undefined || text.trim() === '' || !(value >= 0 && value <= 1)) {
    return `Invalid --threshold "${text ?? ''}": give a score from 0 to 1, for example --threshold 0.5.`;
  }
  return value;
}

function routeLine(
  line: string,
  lineNumber: number,
  threshold: number,
): { tier: string; score: number; reasons: string[] } | { error: string } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { error: `Line ${lineNumber} is not valid JSON.` };
  }

  const parsed = routeLineSchema.safeParse(value);
  if (!parsed.success) {
    return {
      error: `Line ${lineNumber} needs "prompt" (a string) or "turns" (a non-empty list of strings).`,
    };
  }

  if ('prompt' in parsed.data) {
    return routeQuestion({ question: parsed.data.prompt }, threshold);
  }
  const turns = parsed.data.turns;
  const history: ChatMessage[] = turns.slice(0, -1).map((content, index) => ({
    role: index % 2 === 0 ? 'user' : 'assistant',
    content,
  }));
  return routeQuestion({ question: turns.at(-1) ?? '', history }, threshold);
}
