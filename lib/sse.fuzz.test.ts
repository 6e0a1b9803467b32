/**
 * Property-based tests of the SSE decoder with fast-check: no input throws,
 * the events do not depend on where the byte stream is cut, and every
 * encoded event decodes back to itself.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeSseEvent, SseDecoder, type SseMessage } from './sse';

const encoder = new TextEncoder();

/** Decodes `bytes` fed in pieces cut at `cuts` (sorted offsets). */
function decodeInPieces(bytes: Uint8Array, cuts: number[]): SseMessage[] {
  const decoder = new SseDecoder();
  const messages: SseMessage[] = [];
  let start = 0;
  for (const cut of [...cuts, bytes.length]) {
    messages.push(...decoder.push(bytes.subarray(start, cut)));
    start = cut;
  }
  messages.push(...decoder.end());
  return messages;
}

/** Lines that mix SSE fields, comments, odd line endings and junk. */
const sseLike = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        'event: text-delta',
        'event:',
        'data: {"text":"hi"}',
        'data:',
        'data',
        'id: 1',
        'id: a\u0000b',
        'retry: 10',
        ': comment',
        '',
        'data: é🙂中',
      ),
      fc.string({ unit: 'binary', maxLength: 30 }),
    ),
    { maxLength: 40 },
  )
  .chain((lines) =>
    fc
      .array(fc.constantFrom('\n', '\r\n', '\r'), {
        minLength: lines.length,
        maxLength: lines.length,
      })
      .map((endings) =>
        lines.map((line, index) => `${line}${endings[index]}`).join(''),
      ),
  );

describe('SseDecoder fuzzed', () => {
  it('never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 20 }),
        (chunks) => {
          const decoder = new SseDecoder();
          for (const chunk of chunks) {
            decoder.push(chunk);
          }
          decoder.end();
        },
      ),
      { numRuns: 500 },
    );
  });

  it('returns the same events however the stream is cut', () => {
    fc.assert(
      fc.property(
        sseLike,
        fc.array(fc.nat(), { maxLength: 12 }),
        (text, rawCuts) => {
          const bytes = encoder.encode(text);
          const cuts = [
            ...new Set(rawCuts.map((cut) => cut % (bytes.length + 1))),
          ].sort((a, b) => a - b);

          expect(decodeInPieces(bytes, cuts)).toEqual(
            decodeInPieces(bytes, []),
          );
        },
      ),
      { numRuns: 500 },
    );
  });

  it('decodes every encoded event to itself', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            event: fc.stringMatching(/^[a-z][a-z-]{0,15}$/),
            data: fc.jsonValue(),
          }),
          { maxLength: 10 },
        ),
        (events) => {
          const bytes = encoder.encode(
            events
              .map((event) => encodeSseEvent(event.event, event.data))
              .join(''),
          );

          const decoded = decodeInPieces(bytes, [Math.floor(bytes.length / 2)]);

          expect(decoded.map((message) => message.event)).toEqual(
            events.map((event) => event.event),
          );
          expect(decoded.map((message) => JSON.parse(message.data))).toEqual(
            events.map((event) => JSON.parse(JSON.stringify(event.data))),
          );
        },
      ),
      { numRuns: 300 },
    );
  });
});
