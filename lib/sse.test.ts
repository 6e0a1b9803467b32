import { describe, expect, it } from 'vitest';
import {
  encodeSseEvent,
  readSseStream,
  SseDecoder,
  type SseMessage,
} from './sse';

const encoder = new TextEncoder();

// A stream with a 4-byte emoji, 2- and 3-byte characters, CRLF line endings,
// a comment, a named event, an id and a multi-line data field.
const SAMPLE =
  ': keep-alive comment\r\n' +
  'event: delta\r\n' +
  'data: {"text":"caf\u00e9 🙂"}\r\n' +
  '\r\n' +
  'id: 42\r\n' +
  'data: first line\r\n' +
  'data: 中文 second line\r\n' +
  '\r\n' +
  'data: [DONE]\r\n' +
  '\r\n';

const SAMPLE_EVENTS: SseMessage[] = [
  { event: 'delta', data: '{"text":"café 🙂"}' },
  { event: 'message', data: 'first line\n中文 second line', id: '42' },
  { event: 'message', data: '[DONE]', id: '42' },
];

function decodeChunks(chunks: Array<Uint8Array | string>): SseMessage[] {
  const decoder = new SseDecoder();
  const events = chunks.flatMap((chunk) => decoder.push(chunk));
  return [...events, ...decoder.end()];
}

function cutAt(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const pieces: Uint8Array[] = [];
  let start = 0;
  for (const cut of cuts) {
    pieces.push(bytes.subarray(start, cut));
    start = cut;
  }
  pieces.push(bytes.subarray(start));
  return pieces;
}

describe('SseDecoder', () => {
  it('decodes the sample in one chunk', () => {
    expect(decodeChunks([encoder.encode(SAMPLE)])).toEqual(SAMPLE_EVENTS);
  });

  it('decodes the sample cut at every byte', () => {
    const bytes = encoder.encode(SAMPLE);

    for (let cut = 1; cut < bytes.length; cut++) {
      const events = decodeChunks(cutAt(bytes, [cut]));
      expect(events, `cut at byte ${cut}`).toEqual(SAMPLE_EVENTS);
    }
  });

  it('decodes the sample cut at every two bytes', () => {
    const bytes = encoder.encode(SAMPLE);

    for (let first = 1; first < bytes.length; first++) {
      for (let second = first; second < bytes.length; second++) {
        const events = decodeChunks(cutAt(bytes, [first, second]));
        expect(events, `cuts at ${first} and ${second}`).toEqual(SAMPLE_EVENTS);
      }
    }
  });

  it('decodes the sample one byte at a time', () => {
    const bytes = encoder.encode(SAMPLE);
    const chunks = Array.from(bytes, (byte) => Uint8Array.of(byte));

    expect(decodeChunks(chunks)).toEqual(SAMPLE_EVENTS);
  });

  it('joins a 4-byte emoji split three ways', () => {
    const bytes = encoder.encode('data: 🙂\n\n');
    // "data: " is 6 bytes, so the emoji is bytes 6 to 9.
    const events = decodeChunks(cutAt(bytes, [7, 8, 9]));

    expect(events).toEqual([{ event: 'message', data: '🙂' }]);
  });

  it('treats CR then LF in two chunks as one line end', () => {
    const events = decodeChunks(['data: a\r', '\ndata: b\r', '\n\r', '\n']);

    expect(events).toEqual([{ event: 'message', data: 'a\nb' }]);
  });

  it('keeps a pending CR across an empty chunk', () => {
    const events = decodeChunks([
      'data: a\r',
      new Uint8Array(0),
      '\ndata: b\r\n\r\n',
    ]);

    expect(events).toEqual([{ event: 'message', data: 'a\nb' }]);
  });

  it('keeps a pending CR across a partial character', () => {
    const emoji = encoder.encode('🙂');
    const events = decodeChunks([
      encoder.encode('data: a\r'),
      encoder.encode('\ndata: '),
      emoji.subarray(0, 2),
      emoji.subarray(2),
      encoder.encode('\r\n\r\n'),
    ]);

    expect(events).toEqual([{ event: 'message', data: 'a\n🙂' }]);
  });

  it.each([
    ['LF', '\n'],
    ['CRLF', '\r\n'],
    ['CR', '\r'],
  ])('accepts %s line endings', (_name, ending) => {
    const stream = ['event: one', 'data: 1', '', 'data: 2', '', ''].join(
      ending,
    );

    expect(decodeChunks([stream])).toEqual([
      { event: 'one', data: '1' },
      { event: 'message', data: '2' },
    ]);
  });

  it('accepts mixed line endings', () => {
    const events = decodeChunks(['data: a\rdata: b\ndata: c\r\n\n']);

    expect(events).toEqual([{ event: 'message', data: 'a\nb\nc' }]);
  });

  it('treats a CR at the very end as a line end', () => {
    const decoder = new SseDecoder();
    const events = decoder.push('data: x\r\r');

    expect(events).toEqual([{ event: 'message', data: 'x' }]);
  });

  it('skips comments', () => {
    const events = decodeChunks([': ping\n\n:\ndata: a\n: inside\n\n']);

    expect(events).toEqual([{ event: 'message', data: 'a' }]);
  });

  it('joins multi-line data with LF', () => {
    const events = decodeChunks(['data: one\ndata:\ndata:  three\n\n']);

    expect(events).toEqual([{ event: 'message', data: 'one\n\n three' }]);
  });

  it('reads fields without a colon or space', () => {
    const events = decodeChunks(['data\nevent:named\ndata:x\n\n']);

    expect(events).toEqual([{ event: 'named', data: '\nx' }]);
  });

  it('ignores unknown fields and retry', () => {
    const events = decodeChunks(['retry: 100\nfoo: bar\ndata: a\n\n']);

    expect(events).toEqual([{ event: 'message', data: 'a' }]);
  });

  it('dispatches nothing for an event without data', () => {
    const events = decodeChunks(['event: ping\n\ndata: a\n\n']);

    expect(events).toEqual([{ event: 'message', data: 'a' }]);
  });

  it('drops an unterminated event at the end', () => {
    const events = decodeChunks(['data: whole\n\n', 'data: cut short\n']);

    expect(events).toEqual([{ event: 'message', data: 'whole' }]);
  });

  it('drops a last line without a line end', () => {
    const events = decodeChunks(['data: whole\n\ndata: no newline']);

    expect(events).toEqual([{ event: 'message', data: 'whole' }]);
  });

  it('ignores an id containing NUL', () => {
    const events = decodeChunks(['id: 1\ndata: a\n\nid: 2\u0000\ndata: b\n\n']);

    expect(events[1]?.id).toBe('1');
  });

  it('strips a leading byte order mark', () => {
    const bytes = encoder.encode('\ufeffdata: a\n\n');

    expect(decodeChunks([bytes])).toEqual([{ event: 'message', data: 'a' }]);
  });

  it('replaces invalid UTF-8 with U+FFFD', () => {
    const events = decodeChunks([
      Uint8Array.of(0x64, 0x61, 0x74, 0x61, 0x3a, 0x20, 0xff, 0x0a, 0x0a),
    ]);

    expect(events).toEqual([{ event: 'message', data: '\ufffd' }]);
  });
});

describe('readSseStream', () => {
  it('yields events from a cut byte stream', async () => {
    const bytes = encoder.encode(SAMPLE);
    const pieces = cutAt(bytes, [5, 40, 41, 77]);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const piece of pieces) {
          controller.enqueue(piece);
        }
        controller.close();
      },
    });
    const events: SseMessage[] = [];
    for await (const event of readSseStream(stream)) {
      events.push(event);
    }

    expect(events).toEqual(SAMPLE_EVENTS);
  });

  it('releases the reader when the loop stops early', async () => {
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode('data: a\n\ndata: b\n\n'));
      },
    });
    for await (const event of readSseStream(stream)) {
      expect(event.data).toBe('a');
      break;
    }

    expect(stream.locked).toBe(false);
  });
});

describe('encodeSseEvent', () => {
  it('round-trips through the decoder', () => {
    const text = encodeSseEvent('text-delta', { text: 'a\nb 🙂' });

    expect(decodeChunks([text])).toEqual([
      { event: 'text-delta', data: '{"text":"a\\nb 🙂"}' },
    ]);
  });
});
