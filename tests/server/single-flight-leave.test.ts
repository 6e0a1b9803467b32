/**
 * Single flight when the leader's client leaves: the provider call goes on
 * while followers listen, so they receive the whole answer and it is
 * cached, and the leader is charged only the input plus the output it
 * received. When every client has left, the call is stopped.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ChatEvent } from '../../lib/protocol';
import { countTokens } from '../../lib/tokens';
import { AnswerFlight } from '../../server/cache/answer-flight';
import { startFakeProvider, type FakeProvider } from '../fake-provider/index';
import {
  createTempDirectory,
  findEvent,
  postChat,
  readChatEvents,
  registerInstall,
  startTestBackend,
  waitUntil,
  type TestBackend,
} from './helpers';

const QUESTION = 'Tell me a story about a lighthouse.';
const ANSWER = 'alpha beta gamma delta';
const USAGE = { inputTokens: 100, cachedInputTokens: 0, outputTokens: 20 };

let temp: ReturnType<typeof createTempDirectory>;
let fake: FakeProvider;
let backend: TestBackend | undefined;

beforeEach(async () => {
  temp = createTempDirectory();
  fake = await startFakeProvider();
});

afterEach(async () => {
  await backend?.stop({ drainTimeoutMs: 1_000 });
  backend = undefined;
  await fake.close();
  temp.remove();
});

async function startWithFake(
  env: Record<string, string> = {},
): Promise<TestBackend> {
  backend = await startTestBackend(temp.directory, {
    OPENAI_API_KEY: 'test-openai-key',
    OPENAI_BASE_URL: fake.openaiBaseUrl,
    TOKENWISE_CHEAP_MODEL: 'openai:gpt-5-mini',
    TOKENWISE_RETRY_BASE_DELAY_MS: '10',
    ...env,
  });
  return backend;
}

/** A chat request whose events are read as they arrive and that can leave. */
interface OpenChat {
  /** Resolves once the raw stream contains `text`. */
  waitFor: (text: string) => Promise<void>;
  /** Closes the connection, as a closed side panel does. */
  leave: () => void;
  /** Resolves with every event, once the stream ends. */
  events: Promise<ChatEvent[]>;
}

async function openChat(server: TestBackend, token: string): Promise<OpenChat> {
  const client = new AbortController();
  const response = await postChat(
    server.url,
    token,
    { question: QUESTION, tier: 'cheap' },
    client.signal,
  );
  const [forWaiting, forEvents] = response.body!.tee();
  const reader = forWaiting.getReader();
  const decoder = new TextDecoder();
  let received = '';
  return {
    waitFor: async (text) => {
      while (!received.includes(text)) {
        const { value, done } = await reader.read();
        if (done) {
          throw new Error(`The stream ended without "${text}": ${received}`);
        }
        received += decoder.decode(value, { stream: true });
      }
    },
    leave: () => client.abort(),
    events: readChatEvents(new Response(forEvents)),
  };
}

function joinDeltas(events: ChatEvent[]): string {
  return events
    .map((event) => (event.event === 'text-delta' ? event.data.text : ''))
    .join('');
}

async function listEntries(server: TestBackend, installId: string) {
  return server.store.listLedgerEntries(installId);
}

describe('single flight leader leaving', () => {
  it('finishes the answer for its followers', async () => {
    const server = await startWithFake();
    const install = await registerInstall(server.url);
    fake.enqueue({
      type: 'stall',
      text: ANSWER,
      afterDeltas: 2,
      ms: 600,
      usage: USAGE,
    });

    const leader = await openChat(server, install.token);
    await leader.waitFor('beta');
    const followers = await Promise.all([
      openChat(server, install.token),
      openChat(server, install.token),
    ]);
    for (const follower of followers) {
      await follower.waitFor('beta');
    }
    leader.leave();
    await leader.events.catch(() => undefined);
    const followerEvents = await Promise.all(
      followers.map((follower) => follower.events),
    );

    expect(fake.requests).toHaveLength(1);
    for (const events of followerEvents) {
      expect(findEvent(events, 'route').fromCache).toBe(true);
      expect(joinDeltas(events)).toBe(ANSWER);
      expect(events.at(-1)?.event).toBe('done');
      expect(findEvent(events, 'usage').charged).toBe(0);
    }
    await waitUntil(async () => {
      const entries = await listEntries(server, install.installId);
      return entries.some((entry) => entry.kind === 'settle');
    }, 'the leader is settled');
    const entries = await listEntries(server, install.installId);
    const settle = entries.find((entry) => entry.kind === 'settle');
    expect(settle?.inputTokens).toBe(USAGE.inputTokens);
    expect(settle?.outputTokens).toBe(countTokens('alpha beta '));
    expect(settle?.estimated).toBe(true);
    expect(settle?.allowanceTokens).toBe(
      USAGE.inputTokens + countTokens('alpha beta '),
    );
    const hits = entries.filter((entry) => entry.kind === 'cache_hit');
    expect(hits).toHaveLength(2);
    expect(hits[0]?.outputTokens).toBe(USAGE.outputTokens);

    const later = await readChatEvents(
      await postChat(server.url, install.token, {
        question: QUESTION,
        tier: 'cheap',
      }),
    );
    expect(fake.requests).toHaveLength(1);
    expect(findEvent(later, 'route').fromCache).toBe(true);
    expect(joinDeltas(later)).toBe(ANSWER);
  });

  it('stops the call when every client leaves', async () => {
    const server = await startWithFake();
    const install = await registerInstall(server.url);
    fake.enqueue(
      { type: 'stall', text: ANSWER, afterDeltas: 2, ms: 30_000 },
      { type: 'answer', text: 'A second call.', usage: USAGE },
    );

    const leader = await openChat(server, install.token);
    await leader.waitFor('beta');
    const follower = await openChat(server, install.token);
    await follower.waitFor('beta');
    leader.leave();
    follower.leave();
    await Promise.allSettled([leader.events, follower.events]);

    // The stall lasts 30 seconds, so a settlement within waitUntil's five
    // means the call was aborted.
    await waitUntil(async () => {
      const entries = await listEntries(server, install.installId);
      return entries.some((entry) => entry.kind === 'settle');
    }, 'the leader is settled');
    const settle = (await listEntries(server, install.installId)).find(
      (entry) => entry.kind === 'settle',
    );
    expect(settle?.outputTokens).toBe(countTokens('alpha beta '));
    const again = await readChatEvents(
      await postChat(server.url, install.token, {
        question: QUESTION,
        tier: 'cheap',
      }),
    );
    expect(fake.requests).toHaveLength(2);
    expect(findEvent(again, 'route').fromCache).toBe(false);
    expect(joinDeltas(again)).toBe('A second call.');
  });

  it('keeps the call while one follower stays', async () => {
    const server = await startWithFake();
    const install = await registerInstall(server.url);
    fake.enqueue({
      type: 'stall',
      text: ANSWER,
      afterDeltas: 2,
      ms: 600,
      usage: USAGE,
    });

    const leader = await openChat(server, install.token);
    await leader.waitFor('beta');
    const leaving = await openChat(server, install.token);
    const staying = await openChat(server, install.token);
    await leaving.waitFor('beta');
    await staying.waitFor('beta');
    leader.leave();
    leaving.leave();
    await Promise.allSettled([leader.events, leaving.events]);

    const events = await staying.events;
    expect(joinDeltas(events)).toBe(ANSWER);
    expect(events.at(-1)?.event).toBe('done');
  });

  it('fails the followers when the call fails', async () => {
    const server = await startWithFake({ TOKENWISE_IDLE_TIMEOUT_MS: '300' });
    const install = await registerInstall(server.url);
    fake.enqueue({ type: 'stall', text: ANSWER, afterDeltas: 2, ms: 5_000 });

    const leader = await openChat(server, install.token);
    await leader.waitFor('beta');
    const follower = await openChat(server, install.token);
    await follower.waitFor('beta');
    leader.leave();
    await leader.events.catch(() => undefined);

    // The follower gets the leader's own failure: silence mid-answer.
    const events = await follower.events;
    expect(findEvent(events, 'error').code).toBe('upstream_timeout');
    await waitUntil(async () => {
      const entries = await listEntries(server, install.installId);
      return entries.some((entry) => entry.kind === 'settle');
    }, 'the leader is settled');
    const entries = await listEntries(server, install.installId);
    const settle = entries.find((entry) => entry.kind === 'settle');
    expect(settle?.outputTokens).toBe(countTokens('alpha beta '));
    expect(entries.some((entry) => entry.kind === 'cache_hit')).toBe(false);
  });
});

describe('AnswerFlight.onFollowersGone', () => {
  const listener = { onDelta: () => undefined, onEnd: () => undefined };

  it('runs when the last follower leaves', () => {
    const flight = new AnswerFlight('key', () => undefined);
    const leaveFirst = flight.follow(listener);
    const leaveSecond = flight.follow({ ...listener });
    let calls = 0;
    flight.onFollowersGone(() => calls++);

    leaveFirst();
    expect(calls).toBe(0);
    leaveSecond();
    expect(calls).toBe(1);
    leaveSecond();
    expect(calls).toBe(1);
  });

  it('runs at once without followers', () => {
    const flight = new AnswerFlight('key', () => undefined);
    let calls = 0;

    flight.onFollowersGone(() => calls++);

    expect(calls).toBe(1);
  });

  it('never runs once the flight ended', () => {
    const flight = new AnswerFlight('key', () => undefined);
    const leave = flight.follow(listener);
    let calls = 0;
    flight.onFollowersGone(() => calls++);

    flight.finish({ kind: 'failed' });
    leave();
    flight.onFollowersGone(() => calls++);

    expect(calls).toBe(0);
  });
});
