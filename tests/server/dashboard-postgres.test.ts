/**
 * The dashboard's queries, the alert log and the admin reports on
 * PostgreSQL (a schema of its own on the test server), so the SQL that
 * the SQLite tests run is checked on both databases.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DashboardSummary } from '../../server/dashboard/summary';
import { createTestSchema, type TestSchema } from './databases';
import {
  buildStandardSeed,
  SEED_ENV,
  seedLedger,
  sumSeededCost,
  TEST_ADMIN_KEY,
  type SeedEvent,
} from './dashboard-seed';
import {
  createTempDirectory,
  registerInstall,
  startTestBackend,
  type TestBackend,
} from './helpers';

let temp: ReturnType<typeof createTempDirectory>;
let schema: TestSchema;
let backend: TestBackend;
let events: SeedEvent[];

beforeEach(async () => {
  temp = createTempDirectory();
  schema = createTestSchema();
  backend = await startTestBackend(temp.directory, {
    ...SEED_ENV,
    TOKENWISE_DATABASE_URL: schema.url,
    TOKENWISE_DAILY_BUDGET_USD: '0.1',
    // The answer cache's default is a SQLite file, which needs no test here.
    TOKENWISE_CACHE_TTL_SECONDS: '0',
  });
  events = buildStandardSeed(new Date());
  await seedLedger(backend.store, events);
});

afterEach(async () => {
  await backend.stop({ drainTimeoutMs: 1_000 });
  await schema.drop();
  temp.remove();
});

function adminFetch(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${backend.url}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` },
  });
}

describe('dashboard on PostgreSQL', () => {
  it('sums the seeded ledger', async () => {
    const response = await adminFetch('/dashboard/api/summary');
    const summary = (await response.json()) as DashboardSummary;
    const now = new Date();
    const monthStart = new Date(
      Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1),
    );

    expect(response.status).toBe(200);
    expect(summary.month.spendUsd).toBeCloseTo(
      sumSeededCost(events, monthStart),
      9,
    );
    expect(summary.month.requests).toBe(
      events.filter(
        (event) => event.kind === 'settle' && event.at >= monthStart,
      ).length,
    );
    expect(summary.topInstalls[0]?.installId).toBe('install-alpha');
    const answers = summary.hours.reduce((sum, hour) => sum + hour.answers, 0);
    expect(answers).toBeGreaterThan(0);
  });

  it('records each budget alert once', async () => {
    // The $0.1 daily budget is spent past 100%, so all three thresholds
    // are crossed; two refreshes must not record them twice.
    await adminFetch('/dashboard/api/summary');
    const response = await adminFetch('/dashboard/api/summary');
    const summary = (await response.json()) as DashboardSummary;
    const keys = summary.alerts.map((alert) => alert.text);

    expect(summary.budgets[0]?.state).toBe('hard');
    expect(keys.filter((text) => text.includes('daily budget'))).toHaveLength(
      3,
    );
  });

  it('reports /metrics totals', async () => {
    const response = await adminFetch('/metrics');
    const text = await response.text();

    expect(response.status).toBe(200);
    expect(text).toContain(
      'tokenwise_answers_total{model="openai:gpt-5.5",tier="premium"} 3',
    );
    expect(text).toContain(
      'tokenwise_cache_hits_total{model="openai:gpt-5-mini",tier="cheap"} 1',
    );
  });

  it('searches, exports and revokes', async () => {
    const today = new Date().toISOString().slice(0, 10);
    const search = await adminFetch('/v1/admin/installs?search=beta');
    const csv = await adminFetch(
      `/v1/admin/ledger.csv?since=2000-01-01&until=${today}`,
    );
    const install = await registerInstall(backend.url);
    const revoke = await adminFetch(
      `/v1/admin/installs/${install.installId}/revoke`,
      { method: 'POST' },
    );

    const installs = (
      (await search.json()) as { installs: Array<{ id: string }> }
    ).installs;
    expect(installs.map((entry) => entry.id)).toEqual(['install-beta']);
    const lines = (await csv.text())
      .split('\r\n')
      .filter((line) => line !== '');
    const settles = lines.filter((line) => line.split(',')[2] === 'settle');
    expect(settles).toHaveLength(
      events.filter((event) => event.kind === 'settle').length,
    );
    expect(revoke.status).toBe(200);
    expect((await backend.store.getInstall(install.installId))?.revoked).toBe(
      true,
    );
  });
});
