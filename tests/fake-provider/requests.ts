/**
 * Reads an incoming request of the fake provider: which format it speaks,
 * the model, whether it streams, and the text of its messages.
 */
import type { FakeFormat } from './formats';

/** What the fake provider needs to know about a request to answer it. */
export interface ParsedRoute {
  format: FakeFormat;
  model: string;
  stream: boolean;
  /** Gemini only: `alt=sse` was set, so the stream is SSE and not a JSON array. */
  sse: boolean;
}

const GEMINI_PATH =
  /^\/gemini\/v1beta\/models\/([^/:]+):(streamGenerateContent|generateContent)$/;

/**
 * Matches a method and URL to one of the three formats, or returns undefined
 * for a path the fake provider does not serve.
 */
export function matchRoute(
  method: string,
  url: URL,
  body: unknown,
): ParsedRoute | undefined {
  if (method !== 'POST') {
    return undefined;
  }
  const record = isRecord(body) ? body : {};
  const model = typeof record.model === 'string' ? record.model : '';
  if (url.pathname === '/openai/v1/chat/completions') {
    return {
      format: 'openai',
      model,
      stream: record.stream === true,
      sse: true,
    };
  }
  if (url.pathname === '/anthropic/v1/messages') {
    return {
      format: 'anthropic',
      model,
      stream: record.stream === true,
      sse: true,
    };
  }
  const gemini = GEMINI_PATH.exec(url.pathname);
  if (gemini) {
    return {
      format: 'gemini',
      model: decodeURIComponent(gemini[1] ?? ''),
      stream: gemini[2] === 'streamGenerateContent',
      sse: url.searchParams.get('alt') === 'sse',
    };
  }
  return undefined;
}

/** Returns whether an OpenAI request asked for the final usage chunk. */
export function wantsOpenAiUsage(body: unknown): boolean {
  if (!isRecord(body) || !isRecord(body.stream_options)) {
    return false;
  }
  return body.stream_options.include_usage === true;
}

/** Returns the text of the last user message, in any of the three formats. */
export function lastUserText(format: FakeFormat, body: unknown): string {
  const messages = listMessages(format, body);
  const userRole = 'user';
  for (let index = messages.length - 1; index >= 0; index--) {
    const message = messages[index];
    if (message?.role === userRole) {
      return message.text;
    }
  }
  return '';
}

/** Joins all the text a request sends (system prompt and messages), for a usage estimate. */
export function allRequestText(format: FakeFormat, body: unknown): string {
  const texts = listMessages(format, body).map((message) => message.text);
  if (isRecord(body)) {
    texts.push(textOf(body.system), textOf(body.systemInstruction));
  }
  return texts.join('');
}

function listMessages(
  format: FakeFormat,
  body: unknown,
): Array<{ role: string; text: string }> {
  if (!isRecord(body)) {
    return [];
  }
  const list = format === 'gemini' ? body.contents : body.messages;
  if (!Array.isArray(list)) {
    return [];
  }
  return list.filter(isRecord).map((message) => ({
    role: typeof message.role === 'string' ? message.role : '',
    text: textOf(format === 'gemini' ? message.parts : message.content),
  }));
}

// Content is a string, a list of parts or blocks with a `text` field, or an
// object with `parts` (Gemini's systemInstruction).
function textOf(content: unknown): string {
  if (typeof content === 'string') {
    return content;
  }
  if (Array.isArray(content)) {
    return content.map(textOf).join('');
  }
  if (isRecord(content)) {
    if (typeof content.text === 'string') {
      return content.text;
    }
    if (Array.isArray(content.parts)) {
      return textOf(content.parts);
    }
  }
  return '';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
