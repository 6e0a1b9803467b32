import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { routeQuestion } from '../../lib/router';
import { runRouteCommand } from '../../server/commands/route';

async function runRoute(
  input: string,
  args: string[] = [],
): Promise<{ exitCode: number; text: string; lines: () => unknown[] }> {
  const output = new PassThrough();
  const chunks: Buffer[] = [];
  output.on('data', (chunk: Buffer) => chunks.push(chunk));

  const exitCode = await runRouteCommand({
    args,
    input: Readable.from([input]),
    output,
  });
  const text = Buffer.concat(chunks).toString('utf8');
  const lines = () =>
    text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as unknown);
  return { exitCode, text, lines };
}

describe('runRouteCommand', () => {
  it('writes one decision per prompt line', async () => {
    const { exitCode, lines: readLines } = await runRoute(
      '{"prompt":"Hi!"}\n{"prompt":"Prove that there are infinitely many primes."}\n',
    );
    const lines = readLines();

    expect(exitCode).toBe(0);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toEqual(routeQuestion({ question: 'Hi!' }));
    expect(lines[0]).toMatchObject({ tier: 'cheap' });
    expect(lines[1]).toMatchObject({
      tier: 'premium',
      reasons: ['asks for a proof or derivation'],
    });
  });

  it('writes only tier, score and reasons', async () => {
    const { lines: readLines } = await runRoute('{"prompt":"Hi!"}\n');
    const lines = readLines();

    expect(Object.keys(lines[0] as object).sort()).toEqual([
      'reasons',
      'score',
      'tier',
    ]);
  });

  it('reports a bad line and goes on', async () => {
    const { exitCode, lines: readLines } = await runRoute(
      '{"prompt":"Hi!"}\nnot json\n{"question":"Hi"}\n{"turns":[]}\n{"prompt":"Thanks"}\n',
    );
    const lines = readLines();

    expect(exitCode).toBe(1);
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatchObject({ tier: 'cheap' });
    expect(lines[1]).toEqual({ error: 'Line 2 is not valid JSON.' });
    expect((lines[2] as { error: string }).error).toMatch(/^Line 3 needs/);
    expect((lines[3] as { error: string }).error).toMatch(/^Line 4 needs/);
    expect(lines[4]).toMatchObject({ tier: 'cheap' });
  });

  it('routes turns with the last as the question', async () => {
    const code = 'function add(a, b) {\n  return a - b;\n}';
    const { exitCode, lines: readLines } = await runRoute(
      `${JSON.stringify({ turns: [code, 'It subtracts.', 'Why is that wrong?'] })}\n`,
    );
    const lines = readLines();
    const expected = routeQuestion({
      question: 'Why is that wrong?',
      history: [
        { role: 'user', content: code },
        { role: 'assistant', content: 'It subtracts.' },
      ],
    });

    expect(exitCode).toBe(0);
    expect(lines[0]).toEqual(expected);
    expect(expected.reasons).toContain(
      'follows up on code in the conversation',
    );
  });

  it('applies --threshold', async () => {
    const { exitCode, lines: readLines } = await runRoute(
      '{"prompt":"Hi!"}\n',
      ['--threshold', '0'],
    );
    const lines = readLines();

    expect(exitCode).toBe(0);
    expect(lines[0]).toMatchObject({ tier: 'premium' });
  });

  it.each([['2'], ['abc'], ['']])('rejects --threshold %j', async (value) => {
    const { exitCode, lines: readLines } = await runRoute(
      '{"prompt":"Hi!"}\n',
      ['--threshold', value],
    );
    const lines = readLines();

    expect(exitCode).toBe(2);
    expect((lines[0] as { error: string }).error).toMatch(
      /^Invalid --threshold/,
    );
  });

  it('skips blank lines and reads CRLF', async () => {
    const { exitCode, lines: readLines } = await runRoute(
      '\r\n{"prompt":"Hi!"}\r\n\r\n{"prompt":"Thanks"}',
    );
    const lines = readLines();

    expect(exitCode).toBe(0);
    expect(lines).toHaveLength(2);
  });

  it('prints help', async () => {
    const { exitCode, text } = await runRoute('', ['--help']);

    expect(exitCode).toBe(0);
    expect(text).toContain('--threshold SCORE');
  });
});
