/**
 * Seeds a ledger through the real store with answers whose dollar cost is
 * worked out by hand from the catalog prices, for the dashboard, /metrics
 * and budget tests.
 */
import { randomUUID } from 'node:crypto';
import type { Tier } from '../../lib/protocol';
import type { Store } from '../../server/store/types';

/** An admin key long enough for the configuration's check. */
export const TEST_ADMIN_KEY = 'test-admin-key-0123456789abcdef';

/** One seeded ledger event. */
export interface SeedEvent {
  kind: 'settle' | 'cache_hit' | 'release';
  installId: string;
  tier: Tier;
  model: string;
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
  /** Cost at catalog prices, worked out by hand; 0 for cache hits and releases. */
  costUsd: number;
  at: Date;
}

// gpt-5.5: $5 input, $0.50 cached input, $30 output per million tokens.
// 8,000 uncached + 2,000 cached input and 1,000 output:
// (8,000 * 5 + 2,000 * 0.5 + 1,000 * 30) / 1e6 = $0.071.
const PREMIUM_ANSWER = {
  tier: 'premium' as const,
  model: 'openai:gpt-5.5',
  inputTokens: 10_000,
  cachedInputTokens: 2_000,
  outputTokens: 1_000,
  costUsd: 0.071,
};
// gpt-5-mini: $0.25 input, $2 output per million tokens.
// (20,000 * 0.25 + 2,000 * 2) / 1e6 = $0.009.
const CHEAP_ANSWER = {
  tier: 'cheap' as const,
  model: 'openai:gpt-5-mini',
  inputTokens: 20_000,
  cachedInputTokens: 0,
  outputTokens: 2_000,
  costUsd: 0.009,
};

/**
 * Returns the events of the standard seed around `now`: today, install
 * "install-alpha" has two premium answers and one failed answer, and
 * "install-beta" three cheap answers and one cache hit; "install-old" has
 * a premium answer 40 days ago, outside this month.
 */
export function buildStandardSeed(now: Date): SeedEvent[] {
  const minutesAgo = (minutes: number) =>
    new Date(now.getTime() - minutes * 60_000);
  // Just after midnight UTC some of these fall on the day before, so tests
  // work out their expectations from each event's time.
  return [
    {
      kind: 'settle',
      installId: 'install-alpha',
      ...PREMIUM_ANSWER,
      at: minutesAgo(5),
    },
    {
      kind: 'settle',
      installId: 'install-alpha',
      ...PREMIUM_ANSWER,
      at: minutesAgo(4),
    },
    {
      kind: 'release',
      installId: 'install-alpha',
      ...PREMIUM_ANSWER,
      costUsd: 0,
      at: minutesAgo(4),
    },
    {
      kind: 'settle',
      installId: 'install-beta',
      ...CHEAP_ANSWER,
      at: minutesAgo(3),
    },
    {
      kind: 'settle',
      installId: 'install-beta',
      ...CHEAP_ANSWER,
      at: minutesAgo(3),
    },
    {
      kind: 'settle',
      installId: 'install-beta',
      ...CHEAP_ANSWER,
      at: minutesAgo(2),
    },
    {
      kind: 'cache_hit',
      installId: 'install-beta',
      ...CHEAP_ANSWER,
      costUsd: 0,
      at: minutesAgo(1),
    },
    {
      kind: 'settle',
      installId: 'install-old',
      ...PREMIUM_ANSWER,
      at: minutesAgo(40 * 24 * 60),
    },
  ];
}

/**
 * Writes events to the store: each install is created a day before its
 * first event, each settle and release goes through a reservation.
 */
export async function seedLedger(
  store: Store,
  events: readonly SeedEvent[],
): Promise<void> {
  const created = new Set<string>();
  const ordered = [...events].sort(
    (left, right) => left.at.getTime() - right.at.getTime(),
  );
  for (const event of ordered) {
    if (!created.has(event.installId)) {
      await store.createInstall({
        id: event.installId,
        plan: 'free',
        now: new Date(event.at.getTime() - 86_400_000),
      });
      created.add(event.installId);
    }
    const usage = {
      inputTokens: event.inputTokens,
      cachedInputTokens: event.cachedInputTokens,
      outputTokens: event.outputTokens,
    };
    const requestId = randomUUID();
    if (event.kind === 'cache_hit') {
      await store.recordCacheHit({
        requestId,
        installId: event.installId,
        tier: event.tier,
        model: event.model,
        usage,
        now: event.at,
      });
      continue;
    }
    const reserved = await store.reserve({
      requestId,
      installId: event.installId,
      tier: event.tier,
      model: event.model,
      inputTokens: event.inputTokens,
      maxOutputTokens: event.outputTokens,
      minOutputTokens: event.outputTokens,
      now: event.at,
      expiresAt: new Date(event.at.getTime() + 60_000),
    });
    if (reserved.status !== 'reserved') {
      throw new Error(`Seeding could not reserve: ${reserved.status}.`);
    }
    if (event.kind === 'release') {
      await store.release({ requestId, now: event.at });
    } else {
      await store.settle({ requestId, usage, estimated: false, now: event.at });
    }
  }
}

/** Sums the seeded cost of settled answers from `since` on. */
export function sumSeededCost(
  events: readonly SeedEvent[],
  since: Date,
): number {
  return events
    .filter((event) => event.kind === 'settle' && event.at >= since)
    .reduce((sum, event) => sum + event.costUsd, 0);
}

/** Environment for a backend that accepts the seed's allowance and admin key. */
export const SEED_ENV: Record<string, string> = {
  TOKENWISE_ADMIN_KEY: TEST_ADMIN_KEY,
  TOKENWISE_FREE_TOKENS: '1000000000',
  TOKENWISE_CHEAP_MODEL: 'openai:gpt-5-mini',
  TOKENWISE_PREMIUM_MODEL: 'openai:gpt-5.5',
};
