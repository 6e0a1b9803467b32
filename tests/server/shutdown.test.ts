/**
 * Graceful stop and start-up recovery: answers in flight finish or are
 * settled before the store closes, and reservations left by a crash are
 * released at the next start.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../server/store/sqlite';
import { createPlans } from '../../server/plans';
import { startFakeProvider, type FakeProvider } from '../fake-provider/index';
import {
  createTempDirectory,
  findEvent,
  postChat,
  readChatEvents,
  registerInstall,
  startTestBackend,
  type TestBackend,
} from './helpers';

let temp: ReturnType<typeof createTempDirectory>;
let fake: FakeProvider;

beforeEach(async () => {
  temp = createTempDirectory();
  fake = await startFakeProvider();
});

afterEach(async () => {
  await fake.close();
  temp.remove();
});

function startWithFake(): Promise<TestBackend> {
  return startTestBackend(temp.directory, {
    OPENAI_API_KEY: 'test-openai-key',
    OPENAI_BASE_URL: fake.openaiBaseUrl,
    TOKENWISE_CHEAP_MODEL: 'openai:gpt-5-mini',
  });
}

function countRows(table: string): number {
  const database = new Database(path.join(temp.directory, 'tokenwise.db'), {
    readonly: true,
  });
  try {
    const row = database
      .prepare(`SELECT COUNT(*) AS count FROM ${table}`)
      .get() as {
      count: number;
    };
    return row.count;
  } finally {
    database.close();
  }
}

describe('stop', () => {
  it('lets an answer in flight finish', async () => {
    const backend = await startWithFake();
    const install = await registerInstall(backend.url);
    fake.enqueue({
      type: 'answer',
      text: 'one two three four five',
      usage: { inputTokens: 40, outputTokens: 5 },
      chunkDelayMs: 40,
    });
    const response = await postChat(backend.url, install.token, {
      question: 'Count to five.',
      tier: 'cheap',
    });

    const stopped = backend.stop({ drainTimeoutMs: 10_000 });
    const events = await readChatEvents(response);
    await stopped;

    expect(events.at(-1)?.event).toBe('done');
    expect(findEvent(events, 'usage').estimated).toBe(false);
    expect(countRows('reservations')).toBe(0);
  });

  it('settles an answer aborted by the stop', async () => {
    const backend = await startWithFake();
    const install = await registerInstall(backend.url);
    fake.enqueue({
      type: 'stall',
      text: 'alpha beta gamma',
      afterDeltas: 2,
      ms: 60_000,
    });
    const response = await postChat(backend.url, install.token, {
      question: 'Tell me a story.',
      tier: 'cheap',
    });
    const reader = response.body!.getReader();
    let received = '';
    while (!received.includes('beta')) {
      const { value } = await reader.read();
      received += new TextDecoder().decode(value);
    }

    await backend.stop({ drainTimeoutMs: 100 });
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      received += new TextDecoder().decode(value);
    }

    expect(received).toContain('event: usage');
    expect(received).toContain('event: error');
    expect(received).toContain('The backend stopped while answering');
    expect(countRows('reservations')).toBe(0);
    expect(
      countRows("ledger_entries WHERE kind = 'settle' AND estimated = 1"),
    ).toBe(1);
    const messages = backend.logs.lines.map((line) => line.msg);
    expect(messages).toContain('aborting answers still streaming at stop');
    expect(messages.at(-1)).toBe('backend stopped');
  });

  it('reports a store failure as an error event', async () => {
    const backend = await startWithFake();
    const install = await registerInstall(backend.url);
    fake.enqueue({
      type: 'stall',
      text: 'alpha beta',
      afterDeltas: 1,
      ms: 60_000,
    });
    const response = await postChat(backend.url, install.token, {
      question: 'Tell me a story.',
      tier: 'cheap',
    });
    const reader = response.body!.getReader();
    let received = '';
    while (!received.includes('alpha')) {
      const { value } = await reader.read();
      received += new TextDecoder().decode(value);
    }

    await backend.store.close();
    await backend.stop({ drainTimeoutMs: 100 });
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      received += new TextDecoder().decode(value);
    }

    expect(received).toContain('"code":"internal_error"');
    expect(received).toContain('The backend failed while answering');
    const failure = backend.logs.lines.find(
      (line) => line.msg === 'chat stream failed unexpectedly',
    );
    expect(failure?.installId).toBe(install.installId);
    expect(countRows('reservations')).toBe(1);
  });

  it('rejects new connections after stopping', async () => {
    const backend = await startWithFake();
    await backend.stop();

    await expect(fetch(`${backend.url}/healthz`)).rejects.toThrow();
  });
});

describe('start', () => {
  it('releases reservations left by a crash', async () => {
    const config = {
      freeTokens: 10_000,
      premiumWeight: 5,
      requestsPerMinute: 20,
      tokensPerMinute: 200_000,
      plansFile: undefined,
    };
    const store = openSqliteStore({
      path: path.join(temp.directory, 'tokenwise.db'),
      plans: createPlans(config),
    });
    const now = new Date();
    await store.createInstall({ id: 'crashed-install', plan: 'free', now });
    await store.reserve({
      requestId: 'left-open',
      installId: 'crashed-install',
      tier: 'cheap',
      model: 'openai:gpt-5-mini',
      inputTokens: 100,
      maxOutputTokens: 500,
      minOutputTokens: 64,
      now,
      expiresAt: new Date(now.getTime() - 1),
    });
    await store.close();

    const backend = await startWithFake();
    const balance = await backend.store.getBalance(
      'crashed-install',
      new Date(),
    );
    await backend.stop();

    expect(balance.reserved).toBe(0);
    expect(balance.used).toBe(0);
    const released = backend.logs.lines.find(
      (line) => line.msg === 'released an expired reservation',
    );
    expect(released).toMatchObject({ requestId: 'left-open', amount: 600 });
  });
});
