/**
 * The dashboard's sign-in, its JSON figures and /metrics over real HTTP,
 * against a ledger seeded through the real SQLite store.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DashboardSummary } from '../../server/dashboard/summary';
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
  startTestBackend,
  type TestBackend,
} from './helpers';

let temp: ReturnType<typeof createTempDirectory>;
let backend: TestBackend;
let events: SeedEvent[];
let now: Date;

beforeEach(async () => {
  temp = createTempDirectory();
  backend = await startTestBackend(temp.directory, SEED_ENV);
  now = new Date();
  events = buildStandardSeed(now);
  await seedLedger(backend.store, events);
});

afterEach(async () => {
  await backend.stop({ drainTimeoutMs: 1_000 });
  temp.remove();
});

function startOfUtcDay(date: Date): Date {
  return new Date(
    Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()),
  );
}

function startOfUtcMonth(date: Date): Date {
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1));
}

function countSeeded(
  kind: SeedEvent['kind'],
  since: Date,
  filter: (event: SeedEvent) => boolean = () => true,
): number {
  return events.filter(
    (event) => event.kind === kind && event.at >= since && filter(event),
  ).length;
}

async function signIn(key: string): Promise<Response> {
  return fetch(`${backend.url}/dashboard/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ key }).toString(),
    redirect: 'manual',
  });
}

async function fetchSummary(): Promise<DashboardSummary> {
  const response = await fetch(`${backend.url}/dashboard/api/summary`, {
    headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` },
  });
  expect(response.status).toBe(200);
  return (await response.json()) as DashboardSummary;
}

describe('dashboard sign-in', () => {
  it('shows the login form without a session', async () => {
    const response = await fetch(`${backend.url}/dashboard`);
    const html = await response.text();

    expect(response.status).toBe(200);
    expect(html).toContain('action="/dashboard/login"');
    expect(html).not.toContain('dashboard.js');
  });

  it('rejects the summary without the admin key', async () => {
    const anonymous = await fetch(`${backend.url}/dashboard/api/summary`);
    const wrongKey = await fetch(`${backend.url}/dashboard/api/summary`, {
      headers: { authorization: 'Bearer wrong-key-0123456789abcdefghij' },
    });
    const forgedCookie = await fetch(`${backend.url}/dashboard/api/summary`, {
      headers: { cookie: `tokenwise_dashboard=9999999999.${'A'.repeat(43)}` },
    });

    expect(anonymous.status).toBe(401);
    expect(wrongKey.status).toBe(401);
    expect(forgedCookie.status).toBe(401);
  });

  it('rejects a wrong key at login', async () => {
    const response = await signIn('wrong-key-0123456789abcdefghij');

    expect(response.status).toBe(401);
    expect(response.headers.get('set-cookie')).toBeNull();
    expect(await response.text()).toContain('The admin key is wrong');
  });

  it('sets a strict HttpOnly cookie at login', async () => {
    const response = await signIn(TEST_ADMIN_KEY);
    const cookie = response.headers.get('set-cookie') ?? '';

    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/dashboard');
    expect(cookie).toMatch(/^tokenwise_dashboard=\d+\.[\w-]{43};/);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    // Plain HTTP on 127.0.0.1: a Secure cookie would never come back.
    expect(cookie).not.toContain('Secure');
    expect(cookie).not.toContain(TEST_ADMIN_KEY);

    const session = cookie.split(';')[0] as string;
    const page = await fetch(`${backend.url}/dashboard`, {
      headers: { cookie: session },
    });
    const summary = await fetch(`${backend.url}/dashboard/api/summary`, {
      headers: { cookie: session },
    });
    expect(await page.text()).toContain('/dashboard/static/dashboard.js');
    expect(summary.status).toBe(200);
  });

  it('marks the cookie Secure behind HTTPS', async () => {
    const proxied = createTempDirectory();
    const server = await startTestBackend(proxied.directory, {
      ...SEED_ENV,
      TOKENWISE_TRUST_PROXY: 'true',
    });
    try {
      const response = await fetch(`${server.url}/dashboard/login`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-forwarded-proto': 'https',
        },
        body: new URLSearchParams({ key: TEST_ADMIN_KEY }).toString(),
        redirect: 'manual',
      });

      expect(response.status).toBe(303);
      expect(response.headers.get('set-cookie')).toContain('Secure');
    } finally {
      await server.stop({ drainTimeoutMs: 1_000 });
      proxied.remove();
    }
  });

  it('serves the page under a strict policy', async () => {
    const response = await signIn(TEST_ADMIN_KEY);
    const session = (response.headers.get('set-cookie') ?? '').split(';')[0];
    const page = await fetch(`${backend.url}/dashboard`, {
      headers: { cookie: session as string },
    });
    const html = await page.text();
    const policy = page.headers.get('content-security-policy') ?? '';

    expect(policy).toContain("script-src 'self'");
    expect(policy).not.toContain('unsafe-inline');
    expect(html).not.toMatch(/<script>|<style|style="/);
    for (const file of ['dashboard.js', 'dashboard.css', 'favicon.png']) {
      const asset = await fetch(`${backend.url}/dashboard/static/${file}`);
      expect(asset.status, file).toBe(200);
    }
  });
});

describe('dashboard summary figures', () => {
  it('matches the seeded ledger today and this month', async () => {
    const summary = await fetchSummary();
    const todayStart = startOfUtcDay(now);
    const monthStart = startOfUtcMonth(now);

    expect(summary.today.spendUsd).toBeCloseTo(
      sumSeededCost(events, todayStart),
      9,
    );
    expect(summary.month.spendUsd).toBeCloseTo(
      sumSeededCost(events, monthStart),
      9,
    );
    expect(summary.month.requests).toBe(countSeeded('settle', monthStart));
    expect(summary.month.cache.hits).toBe(countSeeded('cache_hit', monthStart));
    expect(summary.month.failedAnswers).toBe(
      countSeeded('release', monthStart),
    );
  });

  it('splits spend by model and tier', async () => {
    const { month } = await fetchSummary();
    const monthStart = startOfUtcMonth(now);
    const premiumAnswers = countSeeded(
      'settle',
      monthStart,
      (event) => event.tier === 'premium',
    );
    const cheapAnswers = countSeeded(
      'settle',
      monthStart,
      (event) => event.tier === 'cheap',
    );

    expect(month.byTier.premium.requests).toBe(premiumAnswers);
    expect(month.byTier.premium.spendUsd).toBeCloseTo(
      premiumAnswers * 0.071,
      9,
    );
    expect(month.byTier.cheap.requests).toBe(cheapAnswers);
    expect(month.byTier.cheap.spendUsd).toBeCloseTo(cheapAnswers * 0.009, 9);
    const mini = month.byModel.find(
      (model) => model.model === 'openai:gpt-5-mini',
    );
    expect(mini?.inputTokens).toBe(cheapAnswers * 20_000);
    expect(mini?.outputTokens).toBe(cheapAnswers * 2_000);
    expect(month.unpricedModels).toEqual([]);
  });

  it('prices cache and routing savings', async () => {
    const { month } = await fetchSummary();
    const monthStart = startOfUtcMonth(now);
    const hits = countSeeded('cache_hit', monthStart);
    const answers = countSeeded('settle', monthStart);
    const cheapAnswers = countSeeded(
      'settle',
      monthStart,
      (event) => event.tier === 'cheap',
    );
    const premiumAnswers = answers - cheapAnswers;

    expect(month.cache.hitRate).toBeCloseTo(hits / (hits + answers), 9);
    // A cached cheap answer would have cost $0.009.
    expect(month.cache.savedUsd).toBeCloseTo(hits * 0.009, 9);
    // On gpt-5.5 without prompt caching: a premium answer costs
    // (10,000 * 5 + 1,000 * 30) / 1e6 = $0.08 and a cheap one
    // (20,000 * 5 + 2,000 * 30) / 1e6 = $0.16.
    const allPremium = premiumAnswers * 0.08 + cheapAnswers * 0.16;
    expect(month.routing.allPremiumUsd).toBeCloseTo(allPremium, 9);
    expect(month.routing.savedUsd).toBeCloseTo(
      allPremium - sumSeededCost(events, monthStart),
      9,
    );
  });

  it('ranks installs and counts active ones', async () => {
    const summary = await fetchSummary();
    const monthStart = startOfUtcMonth(now);
    const alpha = countSeeded(
      'settle',
      monthStart,
      (event) => event.installId === 'install-alpha',
    );

    expect(summary.topInstalls[0]?.installId).toBe('install-alpha');
    expect(summary.topInstalls[0]?.spendUsd).toBeCloseTo(alpha * 0.071, 9);
    expect(
      summary.topInstalls.map((install) => install.installId),
    ).not.toContain('install-old');
    expect(summary.month.activeInstalls).toBe(2);
  });

  it('counts answers and errors per hour', async () => {
    const summary = await fetchSummary();
    const firstHour = new Date(summary.hours[0]?.hourStart ?? 0);
    const inChart = (event: SeedEvent) => event.at >= firstHour;

    expect(summary.hours).toHaveLength(24);
    const answers = summary.hours.reduce((sum, hour) => sum + hour.answers, 0);
    const failed = summary.hours.reduce(
      (sum, hour) => sum + hour.failedAnswers,
      0,
    );
    expect(answers).toBe(
      events.filter((event) => event.kind !== 'release' && inChart(event))
        .length,
    );
    expect(failed).toBe(
      events.filter((event) => event.kind === 'release' && inChart(event))
        .length,
    );
  });
});
