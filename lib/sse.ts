/**
 * Server-sent events: an incremental decoder that is correct when an event,
 * a CRLF pair or a multi-byte UTF-8 character is split across chunks, and an
 * encoder for the backend's own stream. Follows the WHATWG HTML "server-sent
 * events" parsing rules, less the reconnection fields that no caller uses.
 */

export interface SseMessage {
  /** The `event:` field, or "message" when the event named none. */
  event: string;
  /** The `data:` lines joined with "\n". */
  data: string;
  /** The `id:` field, when present. */
  id?: string;
}

/** Incremental SSE decoder; feed it chunks, it returns the complete events. */
export class SseDecoder {
  private readonly textDecoder = new TextDecoder('utf-8');
  private buffer = '';
  private eventName = '';
  private dataLines: string[] = [];
  private lastId: string | undefined;
  private pendingCarriageReturn = false;

  /** Decodes one chunk and returns the events it completed. */
  push(chunk: Uint8Array | string): SseMessage[] {
    const text =
      typeof chunk === 'string'
        ? chunk
        : this.textDecoder.decode(chunk, { stream: true });
    return this.consume(text);
  }

  /** Flushes the decoder at end of stream; an unterminated event is dropped, as the standard says. */
  end(): SseMessage[] {
    const rest = this.textDecoder.decode();
    const messages = this.consume(rest);
    this.buffer = '';
    this.dataLines = [];
    this.eventName = '';
    return messages;
  }

  private consume(text: string): SseMessage[] {
    // An empty chunk (or one holding only part of a character) must not
    // clear a pending CR, or the LF after it would end a second line.
    if (text === '') {
      return [];
    }
    let input = text;
    // A CR at the end of the previous chunk may be the first half of a CRLF.
    if (this.pendingCarriageReturn && input.startsWith('\n')) {
      input = input.slice(1);
    }
    this.pendingCarriageReturn = false;
    this.buffer += input;

    const messages: SseMessage[] = [];
    let start = 0;
    for (let index = 0; index < this.buffer.length; index++) {
      const character = this.buffer[index];
      if (character !== '\n' && character !== '\r') {
        continue;
      }
      const line = this.buffer.slice(start, index);
      if (character === '\r') {
        if (index + 1 === this.buffer.length) {
          this.pendingCarriageReturn = true;
        } else if (this.buffer[index + 1] === '\n') {
          index++;
        }
      }
      start = index + 1;
      const message = this.processLine(line);
      if (message) {
        messages.push(message);
      }
    }
    this.buffer = this.buffer.slice(start);
    return messages;
  }

  private processLine(line: string): SseMessage | undefined {
    if (line === '') {
      return this.dispatch();
    }
    if (line.startsWith(':')) {
      return undefined;
    }
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) {
      value = value.slice(1);
    }
    if (field === 'event') {
      this.eventName = value;
    } else if (field === 'data') {
      this.dataLines.push(value);
    } else if (field === 'id' && !value.includes('\0')) {
      this.lastId = value;
    }
    return undefined;
  }

  private dispatch(): SseMessage | undefined {
    if (this.dataLines.length === 0) {
      this.eventName = '';
      return undefined;
    }
    const message: SseMessage = {
      event: this.eventName || 'message',
      data: this.dataLines.join('\n'),
    };
    if (this.lastId !== undefined) {
      message.id = this.lastId;
    }
    this.eventName = '';
    this.dataLines = [];
    return message;
  }
}

/**
 * Reads a byte stream as server-sent events, yielding each complete event.
 * Events after the last blank line are dropped when the stream ends.
 */
export async function* readSseStream(
  stream: ReadableStream<Uint8Array>,
): AsyncGenerator<SseMessage> {
  const decoder = new SseDecoder();
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        break;
      }
      yield* decoder.push(value);
    }
    yield* decoder.end();
  } finally {
    reader.releaseLock();
  }
}

/** Encodes one event with a JSON payload in SSE framing. */
export function encodeSseEvent(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
