/**
 * GET /metrics over real HTTP against a seeded ledger: ledger totals by
 * model and tier, rejections by code and the latency histogram.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  buildStandardSeed,
  SEED_ENV,
  seedLedger,
  TEST_ADMIN_KEY,
} from './dashboard-seed';
import {
  createTempDirectory,
  startTestBackend,
  type TestBackend,
} from './helpers';

let temp: ReturnType<typeof createTempDirectory>;
let backend: TestBackend;

beforeEach(async () => {
  temp = createTempDirectory();
  backend = await startTestBackend(temp.directory, SEED_ENV);
  await seedLedger(backend.store, buildStandardSeed(new Date()));
});

afterEach(async () => {
  await backend.stop({ drainTimeoutMs: 1_000 });
  temp.remove();
});

async function scrapeMetrics(): Promise<Map<string, number>> {
  const response = await fetch(`${backend.url}/metrics`, {
    headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` },
  });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe(
    'text/plain; version=0.0.4; charset=utf-8',
  );
  const samples = new Map<string, number>();
  for (const line of (await response.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) {
      continue;
    }
    const separator = line.lastIndexOf(' ');
    samples.set(line.slice(0, separator), Number(line.slice(separator + 1)));
  }
  return samples;
}

const PREMIUM = 'model="openai:gpt-5.5",tier="premium"';
const CHEAP = 'model="openai:gpt-5-mini",tier="cheap"';

describe('GET /metrics', () => {
  it('rejects a scrape without the admin key', async () => {
    const response = await fetch(`${backend.url}/metrics`);

    expect(response.status).toBe(401);
  });

  it('reports ledger totals by model and tier', async () => {
    const samples = await scrapeMetrics();

    // All time: three premium answers (one 40 days old), three cheap ones.
    expect(samples.get(`tokenwise_answers_total{${PREMIUM}}`)).toBe(3);
    expect(samples.get(`tokenwise_answers_total{${CHEAP}}`)).toBe(3);
    expect(samples.get(`tokenwise_tokens_total{${PREMIUM},type="input"}`)).toBe(
      3 * 8_000,
    );
    expect(
      samples.get(`tokenwise_tokens_total{${PREMIUM},type="cached_input"}`),
    ).toBe(3 * 2_000);
    expect(
      samples.get(`tokenwise_tokens_total{${PREMIUM},type="output"}`),
    ).toBe(3 * 1_000);
    expect(samples.get(`tokenwise_spend_usd_total{${PREMIUM}}`)).toBeCloseTo(
      3 * 0.071,
      9,
    );
    expect(samples.get(`tokenwise_spend_usd_total{${CHEAP}}`)).toBeCloseTo(
      3 * 0.009,
      9,
    );
    expect(samples.get(`tokenwise_cache_hits_total{${CHEAP}}`)).toBe(1);
    expect(samples.get(`tokenwise_failed_answers_total{${PREMIUM}}`)).toBe(1);
  });

  it('counts rejections and latency', async () => {
    await fetch(`${backend.url}/metrics`);
    for (let attempt = 0; attempt < 2; attempt++) {
      await fetch(`${backend.url}/v1/usage`);
    }

    const samples = await scrapeMetrics();

    expect(samples.get('tokenwise_rejections_total{code="unauthorized"}')).toBe(
      3,
    );
    expect(
      samples.get(
        'tokenwise_http_requests_total{method="GET",route="/v1/usage",status="401"}',
      ),
    ).toBe(2);
    const count = samples.get(
      'tokenwise_http_request_duration_seconds_count{route="/v1/usage"}',
    );
    expect(count).toBe(2);
    expect(
      samples.get(
        'tokenwise_http_request_duration_seconds_bucket{route="/v1/usage",le="+Inf"}',
      ),
    ).toBe(2);
    let previous = 0;
    for (const [name, value] of samples) {
      if (
        name.startsWith(
          'tokenwise_http_request_duration_seconds_bucket{route="/v1/usage"',
        )
      ) {
        expect(value, name).toBeGreaterThanOrEqual(previous);
        previous = value;
      }
    }
  });
});
