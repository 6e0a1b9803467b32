/**
 * Builds the /metrics text: ledger totals (requests, tokens, dollars and
 * cache hits by model and tier) read from the database, so every backend
 * process reports the same totals, and this process's HTTP counters.
 */
import { querySpendRows } from '../dashboard/queries';
import { priceTokens } from '../dashboard/spend';
import type { SpendMonitor } from '../dashboard/spend-monitor';
import { LATENCY_BUCKETS_SECONDS } from './http-metrics';
import { renderMetric, type Sample } from './prometheus';

/**
 * Renders every metric in the Prometheus text format.
 *
 * NOTE: every backend process reports the same ledger totals, so sum the
 * HTTP metrics across instances but take the ledger totals from one.
 */
export async function renderMetrics(
  monitor: SpendMonitor,
  now: Date,
): Promise<string> {
  const rows = await querySpendRows(monitor.database, {
    since: 0,
    until: now.getTime() + 1,
  });
  const answers: Sample[] = [];
  const tokens: Sample[] = [];
  const dollars: Sample[] = [];
  const cacheHits: Sample[] = [];
  const failed: Sample[] = [];
  for (const row of rows) {
    const labels = { model: row.model, tier: row.tier };
    if (row.kind === 'release') {
      failed.push({ labels, value: row.entries });
      continue;
    }
    if (row.kind === 'cache_hit') {
      cacheHits.push({ labels, value: row.entries });
      continue;
    }
    answers.push({ labels, value: row.entries });
    tokens.push(
      {
        labels: { ...labels, type: 'input' },
        value: row.inputTokens - row.cachedInputTokens,
      },
      {
        labels: { ...labels, type: 'cached_input' },
        value: row.cachedInputTokens,
      },
      { labels: { ...labels, type: 'output' }, value: row.outputTokens },
    );
    dollars.push({
      labels,
      value: priceTokens(monitor.prices, row.model, row) ?? 0,
    });
  }

  const http = monitor.httpMetrics;
  const requests: Sample[] = [...http.requests].map(([key, value]) => {
    const [method, route, status] = key.split(' ') as [string, string, string];
    return { labels: { method, route, status }, value };
  });
  const rejections: Sample[] = [...http.rejections].map(([code, value]) => ({
    labels: { code },
    value,
  }));
  const latency: Sample[] = [];
  for (const [route, histogram] of http.latency) {
    let cumulative = 0;
    LATENCY_BUCKETS_SECONDS.forEach((bound, index) => {
      cumulative += histogram.buckets[index] ?? 0;
      latency.push({
        suffix: '_bucket',
        labels: { route, le: String(bound) },
        value: cumulative,
      });
    });
    latency.push(
      {
        suffix: '_bucket',
        labels: { route, le: '+Inf' },
        value: histogram.count,
      },
      { suffix: '_sum', labels: { route }, value: histogram.sumSeconds },
      { suffix: '_count', labels: { route }, value: histogram.count },
    );
  }

  return [
    renderMetric({
      name: 'tokenwise_answers_total',
      help: 'Answers settled from a provider, from the ledger.',
      type: 'counter',
      samples: sumSamples(answers),
    }),
    renderMetric({
      name: 'tokenwise_tokens_total',
      help: 'Provider tokens of settled answers by type (input excludes cached input), from the ledger.',
      type: 'counter',
      samples: sumSamples(tokens),
    }),
    renderMetric({
      name: 'tokenwise_spend_usd_total',
      help: 'US dollars of settled answers at catalog prices, from the ledger.',
      type: 'counter',
      samples: sumSamples(dollars),
    }),
    renderMetric({
      name: 'tokenwise_cache_hits_total',
      help: 'Answers served from the answer cache, from the ledger.',
      type: 'counter',
      samples: sumSamples(cacheHits),
    }),
    renderMetric({
      name: 'tokenwise_failed_answers_total',
      help: 'Answers that failed after their reservation and were released, from the ledger.',
      type: 'counter',
      samples: sumSamples(failed),
    }),
    renderMetric({
      name: 'tokenwise_http_requests_total',
      help: 'HTTP requests this process handled, by method, route and status.',
      type: 'counter',
      samples: requests,
    }),
    renderMetric({
      name: 'tokenwise_rejections_total',
      help: 'Requests this process rejected with a JSON error, by error code.',
      type: 'counter',
      samples: rejections,
    }),
    renderMetric({
      name: 'tokenwise_http_request_duration_seconds',
      help: 'Time until the handler returned its response; for an event stream, until the stream started.',
      type: 'histogram',
      samples: latency,
    }),
  ].join('');
}

/** Adds up samples with equal labels: the ledger rows are also split by install. */
function sumSamples(samples: readonly Sample[]): Sample[] {
  const sums = new Map<string, Sample>();
  for (const sample of samples) {
    const key = JSON.stringify(sample.labels);
    const existing = sums.get(key);
    if (existing === undefined) {
      sums.set(key, { ...sample });
    } else {
      existing.value += sample.value;
    }
  }
  return [...sums.values()];
}
