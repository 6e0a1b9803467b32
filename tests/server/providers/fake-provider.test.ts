import { request as httpRequest } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readSseStream, SseDecoder, type SseMessage } from '../../../lib/sse';
import {
  describeDefaultAnswer,
  findAwkwardCuts,
  startFakeProvider,
  type FakeFormat,
  type FakeProvider,
} from '../../fake-provider';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON of three formats
type JsonBody = any;

let fake: FakeProvider;

beforeEach(async () => {
  fake = await startFakeProvider();
});

afterEach(async () => {
  await fake.close();
});

const QUESTION = 'How long is this question?';
// The default answer streams one delta per word and reports one output token per delta.
const DEFAULT_DELTAS = describeDefaultAnswer(QUESTION).split(' ').length;

function endpoint(format: FakeFormat, stream = true): string {
  if (format === 'openai') {
    return `${fake.openaiBaseUrl}/chat/completions`;
  }
  if (format === 'anthropic') {
    return `${fake.anthropicBaseUrl}/v1/messages`;
  }
  const method = stream ? 'streamGenerateContent?alt=sse' : 'generateContent';
  return `${fake.geminiBaseUrl}/v1beta/models/gemini-test:${method}`;
}

function requestBody(
  format: FakeFormat,
  options: { stream?: boolean; includeUsage?: boolean } = {},
): unknown {
  const stream = options.stream ?? true;
  if (format === 'openai') {
    return {
      model: 'gpt-test',
      stream,
      ...(options.includeUsage
        ? { stream_options: { include_usage: true } }
        : {}),
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: QUESTION },
      ],
    };
  }
  if (format === 'anthropic') {
    return {
      model: 'claude-test',
      stream,
      max_tokens: 100,
      system: [{ type: 'text', text: 'Be brief.' }],
      messages: [{ role: 'user', content: QUESTION }],
    };
  }
  return {
    systemInstruction: { parts: [{ text: 'Be brief.' }] },
    contents: [{ role: 'user', parts: [{ text: QUESTION }] }],
  };
}

function post(
  format: FakeFormat,
  options: {
    stream?: boolean;
    includeUsage?: boolean;
    signal?: AbortSignal;
  } = {},
): Promise<Response> {
  return fetch(endpoint(format, options.stream ?? true), {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': 'test-key' },
    body: JSON.stringify(requestBody(format, options)),
    signal: options.signal,
  });
}

async function collectEvents(response: Response): Promise<SseMessage[]> {
  const events: SseMessage[] = [];
  for await (const event of readSseStream(response.body!)) {
    events.push(event);
  }
  return events;
}

// Extracts the answer text from a stream's events in any format.
function textOf(format: FakeFormat, events: SseMessage[]): string {
  return events
    .map((event) => {
      if (event.data === '[DONE]') {
        return '';
      }
      const data = JSON.parse(event.data);
      if (format === 'openai') {
        return data.choices?.[0]?.delta?.content ?? '';
      }
      if (format === 'anthropic') {
        return event.event === 'content_block_delta' ? data.delta.text : '';
      }
      return data.candidates?.[0]?.content?.parts?.[0]?.text ?? '';
    })
    .join('');
}

describe('default answer', () => {
  it.each(['openai', 'anthropic', 'gemini'] as const)(
    'streams the default text in %s',
    async (format) => {
      const response = await post(format);
      const events = await collectEvents(response);

      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(
        /^text\/event-stream/,
      );
      expect(textOf(format, events)).toBe(describeDefaultAnswer(QUESTION));
      expect(events.length).toBeGreaterThan(3);
    },
  );

  it('names the question length in the text', () => {
    expect(describeDefaultAnswer('abc')).toBe(
      'Fake answer: your last message had 3 characters.',
    );
    expect(describeDefaultAnswer('🙂')).toContain('had 1 characters');
  });

  it('sends openai usage only when include_usage is set', async () => {
    const without = await collectEvents(await post('openai'));
    const withUsage = await collectEvents(
      await post('openai', { includeUsage: true }),
    );

    expect(without.some((event) => event.data.includes('prompt_tokens'))).toBe(
      false,
    );
    expect(without.at(-1)?.data).toBe('[DONE]');
    const usageChunk = JSON.parse(withUsage.at(-2)!.data);
    expect(usageChunk.choices).toEqual([]);
    expect(usageChunk.usage.prompt_tokens).toBeGreaterThan(0);
    expect(usageChunk.usage.completion_tokens).toBe(DEFAULT_DELTAS);
    expect(withUsage.at(-1)?.data).toBe('[DONE]');
  });

  it('sends openai finish_reason stop before usage', async () => {
    const events = await collectEvents(
      await post('openai', { includeUsage: true }),
    );
    const finish = JSON.parse(events.at(-3)!.data);

    expect(finish.choices[0].finish_reason).toBe('stop');
  });

  it('sends anthropic events in the Messages API order', async () => {
    const events = await collectEvents(await post('anthropic'));
    const names = events.map((event) => event.event);

    expect(names.slice(0, 3)).toEqual([
      'message_start',
      'content_block_start',
      'ping',
    ]);
    expect(names.slice(-3)).toEqual([
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    const delta = JSON.parse(events.at(-2)!.data);
    expect(delta.delta.stop_reason).toBe('end_turn');
    expect(delta.usage.output_tokens).toBe(DEFAULT_DELTAS);
  });

  it('sends gemini usage as a running total', async () => {
    const events = await collectEvents(await post('gemini'));
    const chunks = events.map((event) => JSON.parse(event.data));
    const outputs = chunks.map(
      (chunk) => chunk.usageMetadata.candidatesTokenCount,
    );
    const prompts = chunks.map((chunk) => chunk.usageMetadata.promptTokenCount);

    expect(outputs).toEqual([...outputs].sort((a, b) => a - b));
    expect(outputs.at(-1)).toBe(DEFAULT_DELTAS);
    expect(new Set(prompts).size).toBe(1);
    expect(chunks.at(-1).candidates[0].finishReason).toBe('STOP');
    expect(chunks[0].candidates[0].finishReason).toBeUndefined();
  });
});

describe('scripted usage', () => {
  const usage = {
    inputTokens: 1000,
    cachedInputTokens: 600,
    cacheCreationInputTokens: 100,
    outputTokens: 40,
    reasoningTokens: 25,
  };

  it('maps usage to openai fields', async () => {
    fake.enqueue({ type: 'answer', text: 'Hi.', usage });
    const events = await collectEvents(
      await post('openai', { includeUsage: true }),
    );
    const reported = JSON.parse(events.at(-2)!.data).usage;

    expect(reported.prompt_tokens).toBe(1000);
    expect(reported.prompt_tokens_details.cached_tokens).toBe(600);
    expect(reported.completion_tokens).toBe(65);
    expect(reported.completion_tokens_details.reasoning_tokens).toBe(25);
  });

  it('maps usage to anthropic fields', async () => {
    fake.enqueue({ type: 'answer', text: 'Hi.', usage });
    const events = await collectEvents(await post('anthropic'));
    const start = JSON.parse(events[0]!.data).message.usage;
    const delta = JSON.parse(events.at(-2)!.data).usage;

    expect(start.input_tokens).toBe(300);
    expect(start.cache_read_input_tokens).toBe(600);
    expect(start.cache_creation_input_tokens).toBe(100);
    expect(delta.output_tokens).toBe(65);
    expect(delta.input_tokens).toBe(300);
  });

  it('maps usage to gemini fields', async () => {
    fake.enqueue({ type: 'answer', text: 'Hi.', usage });
    const events = await collectEvents(await post('gemini'));
    const last = JSON.parse(events.at(-1)!.data).usageMetadata;

    expect(last.promptTokenCount).toBe(1000);
    expect(last.cachedContentTokenCount).toBe(600);
    expect(last.candidatesTokenCount).toBe(40);
    expect(last.thoughtsTokenCount).toBe(25);
  });

  it('sends explicit deltas unchanged', async () => {
    fake.enqueue({ type: 'answer', deltas: ['a', 'b c', ''] });
    const events = await collectEvents(await post('openai'));
    const contents = events
      .filter((event) => event.data !== '[DONE]')
      .map((event) => JSON.parse(event.data).choices[0].delta.content);

    expect(contents).toEqual(['', 'a', 'b c', '', undefined]);
  });
});

describe('requests and queue', () => {
  it('records format, path, headers and body', async () => {
    await (await post('gemini')).text();
    await (await post('anthropic')).text();

    expect(fake.requests).toHaveLength(2);
    const [gemini, anthropic] = fake.requests;
    expect(gemini?.format).toBe('gemini');
    expect(gemini?.path).toBe(
      '/gemini/v1beta/models/gemini-test:streamGenerateContent?alt=sse',
    );
    expect(gemini?.model).toBe('gemini-test');
    expect(anthropic?.format).toBe('anthropic');
    expect(anthropic?.headers['x-api-key']).toBe('test-key');
    expect(anthropic?.body).toEqual(requestBody('anthropic'));
    expect(anthropic?.stream).toBe(true);
  });

  it('uses scripted steps first in first out', async () => {
    fake.enqueue(
      { type: 'status', status: 500 },
      { type: 'status', status: 503 },
    );

    expect(fake.pendingSteps).toBe(2);
    expect((await post('openai')).status).toBe(500);
    expect((await post('openai')).status).toBe(503);
    expect((await post('openai')).status).toBe(200);
    expect(fake.pendingSteps).toBe(0);
  });

  it('answers 404 on a path it does not serve', async () => {
    const response = await fetch(`${fake.url}/v1/other`, { method: 'POST' });

    expect(response.status).toBe(404);
    expect(fake.requests).toHaveLength(0);
  });
});

describe('non-streaming answers', () => {
  it.each([
    ['openai', (body: JsonBody) => body.choices[0].message.content],
    ['anthropic', (body: JsonBody) => body.content[0].text],
    ['gemini', (body: JsonBody) => body.candidates[0].content.parts[0].text],
  ] as const)('answers %s with JSON', async (format, readText) => {
    const response = await post(format, { stream: false });
    const body = await response.json();

    expect(response.headers.get('content-type')).toBe('application/json');
    expect(readText(body)).toBe(describeDefaultAnswer(QUESTION));
  });
});

describe('status step', () => {
  it('sends retry-after and the format error body', async () => {
    fake.enqueue({ type: 'status', status: 429, retryAfter: 7 });
    const response = await post('anthropic');
    const body = await response.json();

    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('7');
    expect(body.type).toBe('error');
    expect(body.error.type).toBe('rate_limit_error');
  });

  it('sends an HTTP date and a custom body', async () => {
    const date = 'Wed, 21 Oct 2015 07:28:00 GMT';
    fake.enqueue({
      type: 'status',
      status: 503,
      retryAfter: date,
      body: 'down',
    });
    const response = await post('gemini');

    expect(response.headers.get('retry-after')).toBe(date);
    expect(await response.text()).toBe('down');
  });

  it('uses gemini status names', async () => {
    fake.enqueue({ type: 'status', status: 429 });
    const body = await (await post('gemini')).json();

    expect(body.error.status).toBe('RESOURCE_EXHAUSTED');
    expect(body.error.code).toBe(429);
  });
});

describe('fault steps', () => {
  it('delays headers on slow-first-byte', async () => {
    fake.enqueue({ type: 'slow-first-byte', delayMs: 10_000 });

    await expect(
      post('openai', { signal: AbortSignal.timeout(50) }),
    ).rejects.toThrow();
  });

  it('answers with the next step after a slow first byte', async () => {
    fake.enqueue({
      type: 'slow-first-byte',
      delayMs: 5,
      then: { type: 'status', status: 429 },
    });

    expect((await post('openai')).status).toBe(429);
  });

  it('sends headers before a slow body', async () => {
    fake.enqueue({ type: 'slow-first-byte', delayMs: 10_000, stage: 'body' });
    const controller = new AbortController();
    const response = await post('openai', { signal: controller.signal });

    expect(response.status).toBe(200);
    controller.abort();
  });

  it('drops the connection mid-stream', async () => {
    fake.enqueue({ type: 'drop-mid-stream', afterDeltas: 2 });
    const response = await post('anthropic');
    const events: SseMessage[] = [];

    await expect(async () => {
      for await (const event of readSseStream(response.body!)) {
        events.push(event);
      }
    }).rejects.toThrow();
    expect(
      events.filter((e) => e.event === 'content_block_delta'),
    ).toHaveLength(2);
    expect(events.some((e) => e.event === 'message_stop')).toBe(false);
  });

  it('ends without finish or DONE', async () => {
    fake.enqueue({ type: 'end-without-finish' });
    const events = await collectEvents(await post('openai'));

    expect(textOf('openai', events)).toBe(describeDefaultAnswer(QUESTION));
    expect(events.some((event) => event.data === '[DONE]')).toBe(false);
    expect(events.some((event) => event.data.includes('"stop"'))).toBe(false);
  });

  it.each(['openai', 'anthropic', 'gemini'] as const)(
    'sends one malformed event in %s',
    async (format) => {
      fake.enqueue({ type: 'malformed-event', afterDeltas: 1 });
      const events = await collectEvents(await post(format));
      const broken = events.filter((event) => {
        try {
          JSON.parse(event.data);
          return false;
        } catch {
          return event.data !== '[DONE]';
        }
      });

      expect(broken).toHaveLength(1);
    },
  );

  it('sends an anthropic error event', async () => {
    fake.enqueue({ type: 'error-event', afterDeltas: 1 });
    const events = await collectEvents(await post('anthropic'));
    const last = events.at(-1)!;

    expect(last.event).toBe('error');
    expect(JSON.parse(last.data).error.type).toBe('overloaded_error');
  });

  it('goes silent on stall', async () => {
    fake.enqueue({ type: 'stall', afterDeltas: 1, ms: 10_000 });
    const response = await post('gemini');
    const decoder = new SseDecoder();
    const reader = response.body!.getReader();
    const events: SseMessage[] = [];
    while (events.length < 1) {
      const { value } = await reader.read();
      events.push(...decoder.push(value!));
    }
    const next = await Promise.race([
      reader.read().then(() => 'data'),
      new Promise((resolve) => setTimeout(() => resolve('silent'), 100)),
    ]);

    expect(events).toHaveLength(1);
    expect(next).toBe('silent');
    await reader.cancel();
  });

  it('finishes after a short stall', async () => {
    fake.enqueue({ type: 'stall', afterDeltas: 2, ms: 5 });
    const events = await collectEvents(await post('openai'));

    expect(textOf('openai', events)).toBe(describeDefaultAnswer(QUESTION));
  });
});

describe('split step', () => {
  function readRawChunks(format: FakeFormat): Promise<Buffer[]> {
    return new Promise((resolve, reject) => {
      const target = new URL(endpoint(format));
      const request = httpRequest(
        target,
        { method: 'POST', headers: { 'content-type': 'application/json' } },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => resolve(chunks));
          response.on('error', reject);
        },
      );
      request.on('error', reject);
      request.end(JSON.stringify(requestBody(format)));
    });
  }

  it.each(['openai', 'anthropic', 'gemini'] as const)(
    'cuts the %s stream into many pieces',
    async (format) => {
      fake.enqueue({ type: 'split' });
      const chunks = await readRawChunks(format);
      const whole = Buffer.concat(chunks).toString('utf8');
      const decoder = new SseDecoder();
      const events = [...decoder.push(whole), ...decoder.end()];

      expect(chunks.length).toBeGreaterThan(10);
      expect(whole).toContain('\r\n');
      expect(textOf(format, events)).toBe(
        'Split answer: café, 🙂 and 中文 arrive whole.',
      );
    },
  );

  it('uses the requested line ending', async () => {
    fake.enqueue({ type: 'split', lineEnding: '\r', text: 'One two.' });
    const chunks = await readRawChunks('openai');
    const whole = Buffer.concat(chunks).toString('utf8');

    expect(whole).not.toContain('\n');
    expect(whole).toContain('\r\r');
  });
});

describe('findAwkwardCuts', () => {
  it('cuts inside characters, CRLF pairs and events', () => {
    const text = 'data: é🙂\r\n\r\ndata: x\n\n';
    const bytes = new TextEncoder().encode(text);
    const cuts = findAwkwardCuts(bytes);
    // "data: " is 6 bytes; é is bytes 6-7, 🙂 is bytes 8-11, CR LF at 12-13.
    const insideCharacters = [7, 9, 10, 11];
    const betweenCrAndLf = [13, 15];

    for (const cut of [...insideCharacters, ...betweenCrAndLf]) {
      expect(cuts).toContain(cut);
    }
    expect(cuts).toContain(8);
    expect(cuts).toContain(16 + Math.floor(9 / 2));
    expect(cuts).toEqual([...cuts].sort((a, b) => a - b));
  });
});
