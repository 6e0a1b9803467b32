/**
 * The ledger on a real database: reservations, settlement, release,
 * idempotency, expiry, periods and grants, through the Store interface so
 * each store implementation runs the same tests. Every test checks the
 * materialized balance against the ledger entries it was derived from.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  fitOutputCap,
  openSqliteStore,
  weighTokens,
} from '../../server/store/sqlite';
import { openPostgresStore } from '../../server/store/postgres';
import { POSTGRES_MIGRATIONS } from '../../server/store/postgres-migrations';
import { SQLITE_MIGRATIONS } from '../../server/store/sqlite-migrations';
import type {
  LedgerEntry,
  Plan,
  ReserveRequest,
  Store,
} from '../../server/store/types';
import { createTestSchema, TEST_POSTGRES_URL } from './databases';
import { createTempDirectory } from './helpers';

const PLANS: Record<string, Plan> = {
  free: {
    name: 'free',
    allowanceTokens: 10_000,
    premiumWeight: 5,
    requestsPerMinute: 20,
    tokensPerMinute: 200_000,
  },
  pro: {
    name: 'pro',
    allowanceTokens: 50_000,
    premiumWeight: 3,
    requestsPerMinute: 60,
    tokensPerMinute: 1_000_000,
  },
  tiny: {
    name: 'tiny',
    allowanceTokens: 100,
    premiumWeight: 5,
    requestsPerMinute: 5,
    tokensPerMinute: 1_000,
  },
};
const REGISTERED_AT = new Date('2025-01-31T10:20:30.000Z');
const NOW = new Date('2025-02-10T00:00:00.000Z');
const INSTALL_ID = 'install-1';

/**
 * Store implementations the interface tests run against. Each opens a
 * fresh, empty store that keeps its files in `directory` (SQLite) or in a
 * new schema (PostgreSQL), and returns a function that removes them.
 */
const STORE_FACTORIES: Array<{
  name: string;
  open: (directory: string) => Promise<{
    store: Store;
    remove: () => Promise<void>;
    schemaName: string;
  }>;
  reopen: (directory: string, schemaName: string) => Promise<Store>;
}> = [
  {
    name: 'SQLite',
    open: async (directory) => ({
      store: openSqliteStore({
        path: path.join(directory, 'ledger.db'),
        plans: PLANS,
      }),
      remove: async () => undefined,
      schemaName: '',
    }),
    reopen: async (directory) =>
      openSqliteStore({
        path: path.join(directory, 'ledger.db'),
        plans: PLANS,
      }),
  },
  {
    name: 'PostgreSQL',
    open: async () => {
      const schema = createTestSchema();
      const store = await openPostgresStore({
        url: TEST_POSTGRES_URL,
        schema: schema.name,
        plans: PLANS,
      });
      return { store, remove: schema.drop, schemaName: schema.name };
    },
    reopen: (_directory, schemaName) =>
      openPostgresStore({
        url: TEST_POSTGRES_URL,
        schema: schemaName,
        plans: PLANS,
      }),
  },
];

let temp: ReturnType<typeof createTempDirectory>;
let store: Store;
let removeStore: () => Promise<void>;
let schemaName: string;

function reserveRequest(
  overrides: Partial<ReserveRequest> = {},
): ReserveRequest {
  return {
    requestId: 'request-1',
    installId: INSTALL_ID,
    tier: 'cheap',
    model: 'openai:gpt-5-mini',
    inputTokens: 100,
    maxOutputTokens: 1_000,
    minOutputTokens: 64,
    now: NOW,
    expiresAt: new Date(NOW.getTime() + 60_000),
    ...overrides,
  };
}

/** Recomputes used and reserved of a period from the ledger entries alone. */
function deriveFromLedger(entries: LedgerEntry[]): {
  allowance: number;
  used: number;
  reserved: number;
} {
  const closed = new Set(
    entries
      .filter((entry) => entry.kind === 'settle' || entry.kind === 'release')
      .map((entry) => entry.requestId),
  );
  const sum = (kind: LedgerEntry['kind'], filter = (_: LedgerEntry) => true) =>
    entries
      .filter((entry) => entry.kind === kind && filter(entry))
      .reduce((total, entry) => total + entry.allowanceTokens, 0);
  // A plan change writes a second reset entry, which replaces the first.
  const lastReset = entries.filter((entry) => entry.kind === 'reset').at(-1);
  return {
    allowance: (lastReset?.allowanceTokens ?? 0) + sum('grant'),
    used: sum('settle'),
    reserved: sum('reserve', (entry) => !closed.has(entry.requestId)),
  };
}

async function expectBalanceMatchesLedger(now = NOW): Promise<void> {
  const balance = await store.getBalance(INSTALL_ID, now);
  const entries = (await store.listLedgerEntries(INSTALL_ID)).filter(
    (entry) => entry.periodStart.getTime() === balance.periodStart.getTime(),
  );
  const derived = deriveFromLedger(entries);
  expect(balance.allowance).toBe(derived.allowance);
  expect(balance.used).toBe(derived.used);
  expect(balance.reserved).toBe(derived.reserved);
  expect(balance.remaining).toBe(
    Math.max(0, derived.allowance - derived.used - derived.reserved),
  );
}

describe.each(STORE_FACTORIES)(
  '$name store',
  ({ open, reopen: reopenStore }) => {
    /** Opens a second store, as another backend process would, on the same data. */
    const reopen = () => reopenStore(temp.directory, schemaName);

    beforeEach(async () => {
      temp = createTempDirectory();
      ({ store, remove: removeStore, schemaName } = await open(temp.directory));
      await store.createInstall({
        id: INSTALL_ID,
        plan: 'free',
        now: REGISTERED_AT,
      });
    });

    afterEach(async () => {
      await store.close();
      await removeStore();
      temp.remove();
    });

    describe('reserve', () => {
      it('holds input plus output cap', async () => {
        const result = await store.reserve(reserveRequest());

        expect(result.status).toBe('reserved');
        if (result.status !== 'reserved') return;
        expect(result.reservation.amount).toBe(1_100);
        expect(result.reservation.maxOutputTokens).toBe(1_000);
        expect(result.reservation.weight).toBe(1);
        expect(result.balance.reserved).toBe(1_100);
        expect(result.balance.remaining).toBe(8_900);
        await expectBalanceMatchesLedger();
      });

      it('weighs premium tokens', async () => {
        const result = await store.reserve(
          reserveRequest({
            tier: 'premium',
            inputTokens: 100,
            maxOutputTokens: 200,
          }),
        );

        expect(result.status).toBe('reserved');
        if (result.status !== 'reserved') return;
        expect(result.reservation.weight).toBe(5);
        expect(result.reservation.amount).toBe(1_500);
        await expectBalanceMatchesLedger();
      });

      it('shrinks the output cap to fit', async () => {
        await store.reserve(
          reserveRequest({
            requestId: 'big',
            inputTokens: 9_000,
            maxOutputTokens: 500,
          }),
        );

        const result = await store.reserve(
          reserveRequest({ requestId: 'small' }),
        );

        expect(result.status).toBe('reserved');
        if (result.status !== 'reserved') return;
        expect(result.reservation.maxOutputTokens).toBe(400);
        expect(result.reservation.amount).toBe(500);
        expect(result.balance.remaining).toBe(0);
        await expectBalanceMatchesLedger();
      });

      it('rejects when input plus minimum answer cannot fit', async () => {
        await store.reserve(
          reserveRequest({
            requestId: 'big',
            inputTokens: 9_800,
            maxOutputTokens: 100,
          }),
        );

        const result = await store.reserve(
          reserveRequest({ requestId: 'too-much', inputTokens: 50 }),
        );

        expect(result.status).toBe('allowance_exhausted');
        if (result.status !== 'allowance_exhausted') return;
        expect(result.requiredTokens).toBe(114);
        expect(result.balance.remaining).toBe(100);
        expect(result.balance.resetAt.toISOString()).toBe(
          '2025-02-28T10:20:30.000Z',
        );
        const entries = await store.listLedgerEntries(INSTALL_ID);
        expect(
          entries.filter((entry) => entry.requestId === 'too-much'),
        ).toEqual([]);
        await expectBalanceMatchesLedger();
      });

      it('rejects a reused request id', async () => {
        await store.reserve(reserveRequest());
        await store.settle({
          requestId: 'request-1',
          usage: { inputTokens: 100, cachedInputTokens: 0, outputTokens: 10 },
          estimated: false,
          now: NOW,
        });

        const result = await store.reserve(reserveRequest());

        expect(result.status).toBe('duplicate_request');
        await expectBalanceMatchesLedger();
      });

      it('throws for an unknown install', async () => {
        await expect(
          store.reserve(reserveRequest({ installId: 'nobody' })),
        ).rejects.toThrow('Install nobody does not exist.');
      });
    });

    describe('settle', () => {
      it('charges usage with cached input and weight', async () => {
        await store.reserve(
          reserveRequest({
            tier: 'premium',
            inputTokens: 100,
            maxOutputTokens: 500,
          }),
        );

        const result = await store.settle({
          requestId: 'request-1',
          usage: { inputTokens: 120, cachedInputTokens: 80, outputTokens: 30 },
          estimated: false,
          now: NOW,
        });

        expect(result.status).toBe('settled');
        if (result.status !== 'settled') return;
        expect(result.charged).toBe(750);
        expect(result.weight).toBe(5);
        expect(result.balance.used).toBe(750);
        expect(result.balance.reserved).toBe(0);
        expect(result.balance.remaining).toBe(9_250);

        const settle = (await store.listLedgerEntries(INSTALL_ID)).find(
          (entry) => entry.kind === 'settle',
        );
        expect(settle).toMatchObject({
          requestId: 'request-1',
          tier: 'premium',
          model: 'openai:gpt-5-mini',
          inputTokens: 120,
          cachedInputTokens: 80,
          outputTokens: 30,
          weight: 5,
          allowanceTokens: 750,
          estimated: false,
        });
        await expectBalanceMatchesLedger();
      });

      it('never charges more than reserved', async () => {
        await store.reserve(
          reserveRequest({ inputTokens: 100, maxOutputTokens: 100 }),
        );

        const result = await store.settle({
          requestId: 'request-1',
          usage: { inputTokens: 150, cachedInputTokens: 0, outputTokens: 400 },
          estimated: false,
          now: NOW,
        });

        expect(result.status).toBe('settled');
        if (result.status !== 'settled') return;
        expect(result.charged).toBe(200);
        expect(result.balance.used).toBe(200);
        await expectBalanceMatchesLedger();
      });

      it('is idempotent by request id', async () => {
        await store.reserve(reserveRequest());
        const usage = {
          inputTokens: 100,
          cachedInputTokens: 0,
          outputTokens: 50,
        };
        const first = await store.settle({
          requestId: 'request-1',
          usage,
          estimated: true,
          now: NOW,
        });

        const second = await store.settle({
          requestId: 'request-1',
          usage: { inputTokens: 999, cachedInputTokens: 0, outputTokens: 999 },
          estimated: false,
          now: NOW,
        });

        expect(first.status).toBe('settled');
        expect(second.status).toBe('already_settled');
        if (first.status !== 'settled' || second.status !== 'already_settled')
          return;
        expect(second.charged).toBe(first.charged);
        expect(second.balance.used).toBe(150);
        const settles = (await store.listLedgerEntries(INSTALL_ID)).filter(
          (entry) => entry.kind === 'settle',
        );
        expect(settles).toHaveLength(1);
        expect(settles[0]?.estimated).toBe(true);
        await expectBalanceMatchesLedger();
      });

      it('records the model that answered', async () => {
        await store.reserve(reserveRequest());

        await store.settle({
          requestId: 'request-1',
          usage: { inputTokens: 100, cachedInputTokens: 0, outputTokens: 10 },
          estimated: false,
          now: NOW,
          model: 'anthropic:claude-haiku-4-5',
        });

        const entries = await store.listLedgerEntries(INSTALL_ID);
        const reserve = entries.find((entry) => entry.kind === 'reserve');
        const settle = entries.find((entry) => entry.kind === 'settle');
        expect(reserve?.model).toBe('openai:gpt-5-mini');
        expect(settle?.model).toBe('anthropic:claude-haiku-4-5');
        await expectBalanceMatchesLedger();
      });

      it('rejects an empty model and keeps the hold', async () => {
        await store.reserve(reserveRequest());
        const usage = {
          inputTokens: 100,
          cachedInputTokens: 0,
          outputTokens: 10,
        };

        await expect(
          store.settle({
            requestId: 'request-1',
            usage,
            estimated: false,
            now: NOW,
            model: ' ',
          }),
        ).rejects.toThrow('The settled model of request request-1 is empty');

        const kinds = (await store.listLedgerEntries(INSTALL_ID)).map(
          (entry) => entry.kind,
        );
        expect(kinds).not.toContain('settle');
        const result = await store.settle({
          requestId: 'request-1',
          usage,
          estimated: false,
          now: NOW,
        });
        expect(result.status).toBe('settled');
        await expectBalanceMatchesLedger();
      });

      it('reports an unknown request', async () => {
        const result = await store.settle({
          requestId: 'never-reserved',
          usage: { inputTokens: 1, cachedInputTokens: 0, outputTokens: 1 },
          estimated: false,
          now: NOW,
        });

        expect(result.status).toBe('not_found');
      });
    });

    describe('release', () => {
      it('returns the whole reservation', async () => {
        await store.reserve(reserveRequest());

        const result = await store.release({
          requestId: 'request-1',
          now: NOW,
        });

        expect(result.status).toBe('released');
        if (result.status !== 'released') return;
        expect(result.amount).toBe(1_100);
        expect(result.balance.reserved).toBe(0);
        expect(result.balance.used).toBe(0);
        expect(result.balance.remaining).toBe(10_000);
        const kinds = (await store.listLedgerEntries(INSTALL_ID)).map(
          (entry) => entry.kind,
        );
        expect(kinds).toEqual(['reset', 'reserve', 'release']);
        await expectBalanceMatchesLedger();
      });

      it('changes nothing after settle or release', async () => {
        await store.reserve(reserveRequest({ requestId: 'settled' }));
        await store.settle({
          requestId: 'settled',
          usage: { inputTokens: 100, cachedInputTokens: 0, outputTokens: 10 },
          estimated: false,
          now: NOW,
        });
        await store.reserve(reserveRequest({ requestId: 'released' }));
        await store.release({ requestId: 'released', now: NOW });

        const releaseSettled = await store.release({
          requestId: 'settled',
          now: NOW,
        });
        const releaseTwice = await store.release({
          requestId: 'released',
          now: NOW,
        });
        const settleReleased = await store.settle({
          requestId: 'released',
          usage: { inputTokens: 100, cachedInputTokens: 0, outputTokens: 10 },
          estimated: false,
          now: NOW,
        });

        expect(releaseSettled.status).toBe('already_settled');
        expect(releaseTwice.status).toBe('already_released');
        expect(settleReleased.status).toBe('already_released');
        const balance = await store.getBalance(INSTALL_ID, NOW);
        expect(balance.used).toBe(110);
        expect(balance.reserved).toBe(0);
        await expectBalanceMatchesLedger();
      });

      it('releases expired reservations only', async () => {
        await store.reserve(
          reserveRequest({
            requestId: 'old',
            expiresAt: new Date(NOW.getTime() + 1_000),
          }),
        );
        await store.reserve(
          reserveRequest({
            requestId: 'fresh',
            expiresAt: new Date(NOW.getTime() + 60_000),
          }),
        );

        const released = await store.releaseExpiredReservations(
          new Date(NOW.getTime() + 1_000),
        );

        expect(released.map((reservation) => reservation.requestId)).toEqual([
          'old',
        ]);
        const balance = await store.getBalance(INSTALL_ID, NOW);
        expect(balance.reserved).toBe(1_100);
        await expectBalanceMatchesLedger();
      });
    });

    describe('orphaned reservations', () => {
      it('releases a closed store holds', async () => {
        await store.reserve(reserveRequest({ requestId: 'mine' }));
        const other = await reopen();
        await other.reserve(reserveRequest({ requestId: 'theirs' }));
        await other.close();

        const released = await store.releaseExpiredReservations(NOW);

        expect(released.map((reservation) => reservation.requestId)).toEqual([
          'theirs',
        ]);
        const balance = await store.getBalance(INSTALL_ID, NOW);
        expect(balance.reserved).toBe(1_100);
        await expectBalanceMatchesLedger();
      });

      it('keeps a live store holds', async () => {
        const other = await reopen();
        try {
          await other.reserve(reserveRequest({ requestId: 'theirs' }));

          const released = await store.releaseExpiredReservations(NOW);

          expect(released).toEqual([]);
        } finally {
          await other.close();
        }
      });
    });

    describe('periods', () => {
      it('resets at the exact second', async () => {
        await store.reserve(reserveRequest());
        await store.settle({
          requestId: 'request-1',
          usage: { inputTokens: 100, cachedInputTokens: 0, outputTokens: 400 },
          estimated: false,
          now: NOW,
        });

        const lastSecond = await store.getBalance(
          INSTALL_ID,
          new Date('2025-02-28T10:20:29.999Z'),
        );
        const nextPeriod = await store.getBalance(
          INSTALL_ID,
          new Date('2025-02-28T10:20:30.000Z'),
        );

        expect(lastSecond.used).toBe(500);
        expect(lastSecond.periodStart.toISOString()).toBe(
          '2025-01-31T10:20:30.000Z',
        );
        expect(nextPeriod.used).toBe(0);
        expect(nextPeriod.remaining).toBe(10_000);
        expect(nextPeriod.periodStart.toISOString()).toBe(
          '2025-02-28T10:20:30.000Z',
        );
        expect(nextPeriod.resetAt.toISOString()).toBe(
          '2025-03-31T10:20:30.000Z',
        );
        const resets = (await store.listLedgerEntries(INSTALL_ID)).filter(
          (entry) => entry.kind === 'reset',
        );
        expect(resets).toHaveLength(2);
      });

      it('does not roll over unused grants', async () => {
        const granted = await store.grant({
          installId: INSTALL_ID,
          tokens: 5_000,
          now: NOW,
        });
        const nextPeriod = await store.getBalance(
          INSTALL_ID,
          new Date('2025-03-01T00:00:00.000Z'),
        );

        expect(granted.allowance).toBe(15_000);
        expect(nextPeriod.allowance).toBe(10_000);
        await expectBalanceMatchesLedger();
      });

      it('settles into the reservation period', async () => {
        await store.reserve(reserveRequest());
        const afterReset = new Date('2025-03-01T00:00:00.000Z');

        const result = await store.settle({
          requestId: 'request-1',
          usage: { inputTokens: 100, cachedInputTokens: 0, outputTokens: 100 },
          estimated: false,
          now: afterReset,
        });

        expect(result.status).toBe('settled');
        const previous = await store.getBalance(INSTALL_ID, NOW);
        const current = await store.getBalance(INSTALL_ID, afterReset);
        expect(previous.used).toBe(200);
        expect(previous.reserved).toBe(0);
        expect(current.used).toBe(0);
      });
    });

    describe('plans', () => {
      it('changes plan with a reset entry', async () => {
        await store.reserve(reserveRequest());
        await store.settle({
          requestId: 'request-1',
          usage: { inputTokens: 100, cachedInputTokens: 0, outputTokens: 400 },
          estimated: false,
          now: NOW,
        });

        const balance = await store.changePlan({
          installId: INSTALL_ID,
          plan: 'pro',
          now: NOW,
        });

        expect(balance.plan.name).toBe('pro');
        expect(balance.allowance).toBe(50_000);
        expect(balance.used).toBe(500);
        expect(balance.remaining).toBe(49_500);
        expect((await store.getInstall(INSTALL_ID))?.plan).toBe('pro');
        const resets = (await store.listLedgerEntries(INSTALL_ID)).filter(
          (entry) => entry.kind === 'reset',
        );
        expect(resets.map((entry) => entry.allowanceTokens)).toEqual([
          10_000, 50_000,
        ]);
        await expectBalanceMatchesLedger();
      });

      it('keeps used tokens covered on a downgrade', async () => {
        await store.reserve(reserveRequest());

        const balance = await store.changePlan({
          installId: INSTALL_ID,
          plan: 'tiny',
          now: NOW,
        });

        expect(balance.allowance).toBe(1_100);
        expect(balance.reserved).toBe(1_100);
        expect(balance.remaining).toBe(0);
        const next = await store.getBalance(
          INSTALL_ID,
          new Date('2025-03-01T00:00:00.000Z'),
        );
        expect(next.allowance).toBe(100);
        await expectBalanceMatchesLedger();
      });

      it('rejects an unknown plan', async () => {
        await expect(
          store.changePlan({ installId: INSTALL_ID, plan: 'gold', now: NOW }),
        ).rejects.toThrow('The configuration defines no plan "gold"');
        expect((await store.getInstall(INSTALL_ID))?.plan).toBe('free');
      });
    });

    describe('cache hits', () => {
      it('records saved tokens without charging', async () => {
        const balance = await store.recordCacheHit({
          requestId: 'cached-1',
          installId: INSTALL_ID,
          tier: 'premium',
          model: 'openai:gpt-5.5',
          usage: { inputTokens: 100, cachedInputTokens: 0, outputTokens: 20 },
          now: NOW,
        });

        expect(balance.used).toBe(0);
        expect(balance.remaining).toBe(10_000);
        const hit = (await store.listLedgerEntries(INSTALL_ID)).find(
          (entry) => entry.kind === 'cache_hit',
        );
        expect(hit).toMatchObject({
          requestId: 'cached-1',
          tier: 'premium',
          model: 'openai:gpt-5.5',
          inputTokens: 100,
          outputTokens: 20,
          weight: 5,
          allowanceTokens: 600,
        });
        const daily = await store.getDailyUsage(INSTALL_ID, {
          since: NOW,
          until: NOW,
        });
        expect(daily).toEqual([
          { date: '2025-02-10', cheap: 0, premium: 0, saved: 600 },
        ]);
        await expectBalanceMatchesLedger();
      });
    });

    describe('model usage', () => {
      it('breaks down settles and cache hits', async () => {
        for (const [requestId, tier, model] of [
          ['a', 'cheap', 'openai:gpt-5-mini'],
          ['b', 'cheap', 'openai:gpt-5-mini'],
          ['c', 'premium', 'openai:gpt-5.5'],
        ] as const) {
          await store.reserve(reserveRequest({ requestId, tier, model }));
          await store.settle({
            requestId,
            usage: {
              inputTokens: 100,
              cachedInputTokens: 40,
              outputTokens: 10,
            },
            estimated: false,
            now: NOW,
          });
        }
        await store.recordCacheHit({
          requestId: 'd',
          installId: INSTALL_ID,
          tier: 'cheap',
          model: 'openai:gpt-5-mini',
          usage: { inputTokens: 50, cachedInputTokens: 0, outputTokens: 50 },
          now: NOW,
        });

        const usage = await store.getModelUsage(INSTALL_ID, {
          since: REGISTERED_AT,
          until: new Date(NOW.getTime() + 1),
        });

        expect(usage).toEqual([
          {
            model: 'openai:gpt-5.5',
            tier: 'premium',
            requests: 1,
            inputTokens: 100,
            cachedInputTokens: 40,
            outputTokens: 10,
            charged: 550,
            cacheHits: 0,
            saved: 0,
          },
          {
            model: 'openai:gpt-5-mini',
            tier: 'cheap',
            requests: 2,
            inputTokens: 200,
            cachedInputTokens: 80,
            outputTokens: 20,
            charged: 220,
            cacheHits: 1,
            saved: 100,
          },
        ]);
      });
    });

    describe('concurrency', () => {
      it('never reserves past the allowance', async () => {
        const results = await Promise.all(
          Array.from({ length: 40 }, (_, index) =>
            store.reserve(
              reserveRequest({
                requestId: `parallel-${index}`,
                inputTokens: 100,
                maxOutputTokens: 900,
                minOutputTokens: 900,
              }),
            ),
          ),
        );

        const reserved = results.filter(
          (result) => result.status === 'reserved',
        );
        expect(reserved).toHaveLength(10);
        const balance = await store.getBalance(INSTALL_ID, NOW);
        expect(balance.reserved).toBe(10_000);
        expect(balance.remaining).toBe(0);
        await expectBalanceMatchesLedger();
      });

      it('settles once under racing calls', async () => {
        await store.reserve(reserveRequest());
        const usage = {
          inputTokens: 100,
          cachedInputTokens: 0,
          outputTokens: 5,
        };

        const results = await Promise.all([
          store.settle({
            requestId: 'request-1',
            usage,
            estimated: false,
            now: NOW,
          }),
          store.settle({
            requestId: 'request-1',
            usage,
            estimated: false,
            now: NOW,
          }),
          store.release({ requestId: 'request-1', now: NOW }),
        ]);

        const closing = results.filter(
          (result) =>
            result.status === 'settled' || result.status === 'released',
        );
        expect(closing).toHaveLength(1);
        const entries = await store.listLedgerEntries(INSTALL_ID);
        expect(
          entries.filter(
            (entry) => entry.kind === 'settle' || entry.kind === 'release',
          ),
        ).toHaveLength(1);
        await expectBalanceMatchesLedger();
      });
    });

    describe('daily usage', () => {
      it('splits tiers by UTC day', async () => {
        const day1 = new Date('2025-02-08T23:59:59.000Z');
        const day2 = new Date('2025-02-09T00:00:00.000Z');
        await store.reserve(reserveRequest({ requestId: 'a', now: day1 }));
        await store.settle({
          requestId: 'a',
          usage: { inputTokens: 10, cachedInputTokens: 0, outputTokens: 20 },
          estimated: false,
          now: day1,
        });
        await store.reserve(
          reserveRequest({
            requestId: 'b',
            tier: 'premium',
            maxOutputTokens: 100,
            now: day2,
          }),
        );
        await store.settle({
          requestId: 'b',
          usage: { inputTokens: 10, cachedInputTokens: 0, outputTokens: 10 },
          estimated: false,
          now: day2,
        });

        const daily = await store.getDailyUsage(INSTALL_ID, {
          since: new Date('2025-02-07T12:00:00.000Z'),
          until: NOW,
        });

        expect(daily.map((day) => day.date)).toEqual([
          '2025-02-07',
          '2025-02-08',
          '2025-02-09',
          '2025-02-10',
        ]);
        expect(daily[1]).toEqual({
          date: '2025-02-08',
          cheap: 30,
          premium: 0,
          saved: 0,
        });
        expect(daily[2]).toEqual({
          date: '2025-02-09',
          cheap: 0,
          premium: 100,
          saved: 0,
        });
      });
    });
  },
);

describe('SQLite schema', () => {
  let databasePath: string;

  beforeEach(async () => {
    temp = createTempDirectory();
    databasePath = path.join(temp.directory, 'nested', 'ledger.db');
    store = openSqliteStore({ path: databasePath, plans: PLANS });
    await store.createInstall({
      id: INSTALL_ID,
      plan: 'free',
      now: REGISTERED_AT,
    });

    afterEach(async () => {
      await store.close();
      temp.remove();
    });
  });

  it('keeps ledger entries append-only', async () => {
    await store.reserve(reserveRequest());
    const database = new Database(databasePath);
    try {
      expect(() =>
        database
          .prepare('UPDATE ledger_entries SET allowance_tokens = 0')
          .run(),
      ).toThrow('ledger_entries is append-only');
      expect(() =>
        database.prepare('DELETE FROM ledger_entries').run(),
      ).toThrow('ledger_entries is append-only');
    } finally {
      database.close();
    }
  });

  it('migrates once across reopening', async () => {
    await store.close();
    store = openSqliteStore({ path: databasePath, plans: PLANS });
    const install = await store.getInstall(INSTALL_ID);

    const database = new Database(databasePath, { readonly: true });
    try {
      const versions = database
        .prepare('SELECT version FROM schema_migrations')
        .all() as Array<{ version: number }>;
      const journalMode = database.pragma('journal_mode', { simple: true });
      expect(versions).toEqual(listVersions(SQLITE_MIGRATIONS));
      expect(journalMode).toBe('wal');
    } finally {
      database.close();
    }
    expect(install?.createdAt.toISOString()).toBe(REGISTERED_AT.toISOString());
  });

  it('rejects a balance past the allowance', async () => {
    const database = new Database(databasePath);
    try {
      await store.getBalance(INSTALL_ID, NOW);
      expect(() =>
        database.prepare('UPDATE balances SET used = allowance + 1').run(),
      ).toThrow(/CHECK constraint failed/);
    } finally {
      database.close();
    }
  });
});

describe('PostgreSQL schema', () => {
  let schema: ReturnType<typeof createTestSchema>;

  beforeEach(async () => {
    schema = createTestSchema();
    store = await openPostgresStore({
      url: TEST_POSTGRES_URL,
      schema: schema.name,
      plans: PLANS,
    });
    await store.createInstall({
      id: INSTALL_ID,
      plan: 'free',
      now: REGISTERED_AT,
    });
  });

  afterEach(async () => {
    await store.close();
    await schema.drop();
  });

  async function query(sql: string): Promise<pg.QueryResult> {
    const client = new pg.Client({
      connectionString: TEST_POSTGRES_URL,
      options: `-c search_path=${schema.name}`,
    });
    await client.connect();
    try {
      return await client.query(sql);
    } finally {
      await client.end();
    }
  }

  it('keeps ledger entries append-only', async () => {
    await store.reserve(reserveRequest());

    await expect(
      query('UPDATE ledger_entries SET allowance_tokens = 0'),
    ).rejects.toThrow('ledger_entries is append-only');
    await expect(query('DELETE FROM ledger_entries')).rejects.toThrow(
      'ledger_entries is append-only',
    );
    await expect(query('TRUNCATE ledger_entries')).rejects.toThrow(
      'ledger_entries is append-only',
    );
  });

  it('migrates once across reopening', async () => {
    await store.close();
    store = await openPostgresStore({
      url: TEST_POSTGRES_URL,
      schema: schema.name,
      plans: PLANS,
    });

    const versions = await query('SELECT version FROM schema_migrations');
    expect(versions.rows).toEqual(listVersions(POSTGRES_MIGRATIONS));
    const install = await store.getInstall(INSTALL_ID);
    expect(install?.createdAt.toISOString()).toBe(REGISTERED_AT.toISOString());
  });

  it('rejects a balance past the allowance', async () => {
    await store.getBalance(INSTALL_ID, NOW);

    await expect(
      query('UPDATE balances SET used = allowance + 1'),
    ).rejects.toThrow(/balances_check/);
  });
});

/** The versions a fully migrated database records, in the order applied. */
function listVersions(
  migrations: ReadonlyArray<{ version: number }>,
): Array<{ version: number }> {
  return migrations
    .map(({ version }) => ({ version }))
    .sort((left, right) => left.version - right.version);
}

describe('weighTokens and fitOutputCap', () => {
  it.each([
    { weight: 1, tokens: 10, expected: 10 },
    { weight: 5, tokens: 10, expected: 50 },
    { weight: 1.1, tokens: 3, expected: 4 },
    { weight: 1.1, tokens: 10, expected: 11 },
    { weight: 1.5, tokens: 3, expected: 5 },
    { weight: 2.5, tokens: 2, expected: 5 },
  ])(
    'weighs $tokens at $weight as $expected',
    ({ weight, tokens, expected }) => {
      expect(weighTokens(weight, tokens)).toBe(expected);
    },
  );

  it.each([
    { available: 1_000, weight: 1, input: 100, cap: 1_024, expected: 900 },
    { available: 1_000, weight: 5, input: 100, cap: 1_024, expected: 100 },
    { available: 5_000, weight: 1, input: 100, cap: 1_024, expected: 1_024 },
    { available: 99, weight: 1, input: 100, cap: 1_024, expected: -1 },
    { available: 10, weight: 1.5, input: 2, cap: 100, expected: 4 },
  ])(
    'fits $available at weight $weight to $expected',
    ({ available, weight, input, cap, expected }) => {
      const fitted = fitOutputCap({
        available,
        weight,
        inputTokens: input,
        maxOutputTokens: cap,
      });
      expect(fitted).toBe(expected);
      if (fitted >= 0) {
        expect(weighTokens(weight, input + fitted)).toBeLessThanOrEqual(
          available,
        );
      }
    },
  );
});
