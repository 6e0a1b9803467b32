/**
 * The spend budgets end to end over HTTP: premium degrades to cheap past
 * the soft limit, chats are rejected past the hard one, and a webhook
 * receiver on 127.0.0.1 gets each budget and spike alert once.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DashboardSummary } from '../../server/dashboard/summary';
import { startFakeProvider, type FakeProvider } from '../fake-provider/index';
import {
  SEED_ENV,
  seedLedger,
  TEST_ADMIN_KEY,
  type SeedEvent,
} from './dashboard-seed';
import {
  createTempDirectory,
  findEvent,
  postChat,
  readChatEvents,
  readErrorBody,
  registerInstall,
  startTestBackend,
  waitUntil,
  type TestBackend,
} from './helpers';

/** A webhook receiver that records each JSON body it accepts. */
interface WebhookReceiver {
  url: string;
  /** Texts of the accepted alerts, in arrival order. */
  texts: string[];
  /** Every request, accepted or failed. */
  attempts: number;
  /** Requests still to answer with 500 before accepting. */
  failuresLeft: number;
  close(): Promise<void>;
}

async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const receiver = {
    url: '',
    texts: [] as string[],
    attempts: 0,
    failuresLeft: 0,
    close: () => Promise.resolve(),
  };
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      receiver.attempts += 1;
      if (receiver.failuresLeft > 0) {
        receiver.failuresLeft -= 1;
        response.writeHead(500).end();
        return;
      }
      receiver.texts.push((JSON.parse(body) as { text: string }).text);
      response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  receiver.close = () =>
    new Promise<void>((resolve) => server.close(() => resolve()));
  return receiver;
}

let temp: ReturnType<typeof createTempDirectory>;
let fake: FakeProvider;
let receiver: WebhookReceiver;
let backend: TestBackend;

beforeEach(async () => {
  temp = createTempDirectory();
  fake = await startFakeProvider();
  receiver = await startWebhookReceiver();
});

afterEach(async () => {
  await backend.stop({ drainTimeoutMs: 1_000 });
  await receiver.close();
  await fake.close();
  temp.remove();
});

/** Starts a backend with a $1 daily budget whose soft limit is 50%. */
async function startWithBudget(
  env: Record<string, string> = {},
): Promise<TestBackend> {
  backend = await startTestBackend(temp.directory, {
    ...SEED_ENV,
    OPENAI_API_KEY: 'test-openai-key',
    OPENAI_BASE_URL: fake.openaiBaseUrl,
    TOKENWISE_CACHE_TTL_SECONDS: '0',
    TOKENWISE_DAILY_BUDGET_USD: '1',
    TOKENWISE_BUDGET_SOFT_PERCENT: '50',
    TOKENWISE_BUDGET_CHECK_SECONDS: '0',
    TOKENWISE_ALERT_WEBHOOK_URL: receiver.url,
    TOKENWISE_ALERT_RETRY_BASE_DELAY_MS: '10',
    ...env,
  });
  return backend;
}

/**
 * Returns `count` premium answers of $0.071 each by one install, a second
 * ago: (8,000 * 5 + 2,000 * 0.5 + 1,000 * 30) / 1e6 dollars on gpt-5.5.
 */
function premiumAnswers(count: number, installId: string): SeedEvent[] {
  const at = new Date(Date.now() - 1_000);
  return Array.from({ length: count }, () => ({
    kind: 'settle' as const,
    installId,
    tier: 'premium' as const,
    model: 'openai:gpt-5.5',
    inputTokens: 10_000,
    cachedInputTokens: 2_000,
    outputTokens: 1_000,
    costUsd: 0.071,
    at,
  }));
}

async function askPremium(token: string): Promise<Response> {
  fake.enqueue({
    type: 'answer',
    text: 'A careful answer.',
    usage: { inputTokens: 50, outputTokens: 4 },
  });
  return postChat(backend.url, token, {
    question: 'Prove that there are infinitely many primes.',
    tier: 'premium',
  });
}

function countAlerts(fragment: string): number {
  return receiver.texts.filter((text) => text.includes(fragment)).length;
}

describe('budget soft limit', () => {
  it('keeps premium below the soft limit', async () => {
    const server = await startWithBudget();
    const install = await registerInstall(server.url);

    const events = await readChatEvents(await askPremium(install.token));
    const route = findEvent(events, 'route');

    expect(route.tier).toBe('premium');
    expect(route.model).toBe('openai:gpt-5.5');
    expect(receiver.texts).toEqual([]);
  });

  it('degrades premium to cheap past it', async () => {
    const server = await startWithBudget();
    // 8 * $0.071 = $0.568: 56% of the $1 budget, past the 50% soft limit.
    await seedLedger(server.store, premiumAnswers(8, 'install-heavy'));
    const install = await registerInstall(server.url);

    const first = findEvent(
      await readChatEvents(await askPremium(install.token)),
      'route',
    );
    const second = findEvent(
      await readChatEvents(await askPremium(install.token)),
      'route',
    );

    expect(first.tier).toBe('cheap');
    expect(first.model).toBe('openai:gpt-5-mini');
    expect(first.reasons).toContain(
      'the premium model is paused because 56% of the daily budget is spent',
    );
    expect(second.tier).toBe('cheap');
    await waitUntil(
      () => countAlerts('50% of the daily budget') === 1,
      'the 50% alert arrives',
    );
    expect(countAlerts('50% of the daily budget')).toBe(1);
    expect(countAlerts('80% of the daily budget')).toBe(0);
  });
});

describe('budget hard limit', () => {
  it('rejects chats with budget_exceeded', async () => {
    const server = await startWithBudget();
    // 15 * $0.071 = $1.065, past the $1 budget.
    await seedLedger(server.store, premiumAnswers(15, 'install-heavy'));
    const install = await registerInstall(server.url);

    const response = await askPremium(install.token);
    const body = await readErrorBody(response);

    expect(response.status).toBe(503);
    expect(body.error.code).toBe('budget_exceeded');
    expect(body.error.message).toContain('daily budget of $1.00');
    const tomorrow = new Date();
    tomorrow.setUTCHours(24, 0, 0, 0);
    expect(body.error.resetAt).toBe(tomorrow.toISOString());
    expect(fake.requests).toHaveLength(0);
  });

  it('sends each threshold alert once', async () => {
    const server = await startWithBudget();
    await seedLedger(server.store, premiumAnswers(15, 'install-heavy'));
    const install = await registerInstall(server.url);

    for (let attempt = 0; attempt < 3; attempt++) {
      const response = await askPremium(install.token);
      expect(response.status).toBe(503);
      await response.body?.cancel();
    }
    await waitUntil(() => receiver.texts.length >= 3, 'three alerts arrive');
    // Closing waits for deliveries in flight, so a duplicate would be in.
    await server.app.close();

    for (const threshold of [50, 80, 100]) {
      expect(
        countAlerts(`${threshold}% of the daily budget`),
        `${threshold}%`,
      ).toBe(1);
    }
    expect(receiver.texts).toHaveLength(3);
    expect(receiver.texts[0]).toContain('of $1.00 spent');
  });

  it('retries a failing webhook with back-off', async () => {
    receiver.failuresLeft = 2;
    // No spike alert: only the three budget alerts are sent.
    const server = await startWithBudget({
      TOKENWISE_SPIKE_MINIMUM_USD: '1000',
    });
    await seedLedger(server.store, premiumAnswers(15, 'install-heavy'));

    // The summary checks the budgets, which raises the three alerts.
    const response = await fetch(`${server.url}/dashboard/api/summary`, {
      headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` },
    });
    expect(response.status).toBe(200);
    await waitUntil(() => receiver.texts.length === 3, 'three alerts arrive');

    expect(receiver.attempts).toBe(5);
    expect(new Set(receiver.texts).size).toBe(3);
    const failures = server.logs.lines.filter(
      (line) => line.msg === 'alert webhook returned an error status',
    );
    expect(failures).toHaveLength(2);
  });
});

describe('spike detector', () => {
  it('flags and alerts a spiking install once', async () => {
    const server = await startWithBudget({ TOKENWISE_DAILY_BUDGET_USD: '' });
    // 20 * $0.071 = $1.42 in the last hour against no history: past the
    // $1 minimum and any multiple of a usual rate of $0.
    await seedLedger(server.store, premiumAnswers(20, 'install-spiky'));
    await seedLedger(server.store, premiumAnswers(1, 'install-calm'));

    const summaries: DashboardSummary[] = [];
    for (let attempt = 0; attempt < 2; attempt++) {
      const response = await fetch(`${server.url}/dashboard/api/summary`, {
        headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` },
      });
      summaries.push((await response.json()) as DashboardSummary);
    }
    await waitUntil(
      () => receiver.texts.length >= 1,
      'the spike alert arrives',
    );

    for (const summary of summaries) {
      expect(summary.spikes.map((spike) => spike.installId)).toEqual([
        'install-spiky',
      ]);
      expect(summary.spikes[0]?.lastHourUsd).toBeCloseTo(1.42, 9);
    }
    expect(countAlerts('install install-spiky spent $1.42')).toBe(1);
    expect(receiver.texts).toHaveLength(1);
  });
});
