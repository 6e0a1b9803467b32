/**
 * Input checks at the edges of the API. A blank question is rejected
 * before it reaches a provider or the ledger, and the 404 message lists
 * every endpoint. The plans file cannot sell the free plan or drop its
 * premium limit by omission. An admin grant can neither exceed the
 * per-grant maximum nor lift a period's allowance past
 * MAX_PERIOD_ALLOWANCE_TOKENS, over HTTP, through the CLI and on both
 * stores.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  adminInstallResponseSchema,
  MAX_GRANT_TOKENS,
  MAX_PERIOD_ALLOWANCE_TOKENS,
  usageResponseSchema,
} from '../../lib/protocol';
import { REPOSITORY_ROOT } from '../../scripts/harness/backend';
import { ConfigError } from '../../server/config';
import { createPlans, readPremiumAllowance } from '../../server/plans';
import { openPostgresStore } from '../../server/store/postgres';
import { openSqliteStore } from '../../server/store/sqlite';
import type { Plan, Store } from '../../server/store/types';
import { startFakeProvider, type FakeProvider } from '../fake-provider/index';
import { createTestSchema, TEST_POSTGRES_URL } from './databases';
import {
  createCapturingLogger,
  createTempDirectory,
  postChat,
  readErrorBody,
  registerInstall,
  startTestBackend,
  TEST_INSTALL_SECRET,
  type TestBackend,
} from './helpers';

const runFile = promisify(execFile);
const ADMIN_KEY = 'test-admin-key-0123456789abcdef';
/** A free allowance 100 tokens below the period maximum. */
const NEAR_MAX_FREE_TOKENS = MAX_PERIOD_ALLOWANCE_TOKENS - 100;

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

function startBackend(env: Record<string, string> = {}): Promise<TestBackend> {
  return startTestBackend(temp.directory, {
    OPENAI_API_KEY: 'test-openai-key',
    OPENAI_BASE_URL: fake.openaiBaseUrl,
    TOKENWISE_CHEAP_MODEL: 'openai:gpt-5-mini',
    TOKENWISE_PREMIUM_MODEL: 'openai:gpt-5.5',
    TOKENWISE_ADMIN_KEY: ADMIN_KEY,
    ...env,
  });
}

function postGrant(
  server: TestBackend,
  installId: string,
  tokens: number,
): Promise<Response> {
  return fetch(`${server.url}/v1/admin/installs/${installId}/grant`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${ADMIN_KEY}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ tokens }),
  });
}

async function readAdminView(server: TestBackend, installId: string) {
  const response = await fetch(`${server.url}/v1/admin/installs/${installId}`, {
    headers: { authorization: `Bearer ${ADMIN_KEY}` },
  });
  expect(response.status).toBe(200);
  return adminInstallResponseSchema.parse(await response.json());
}

/** Runs `tokenwise admin ...` as a child process with a clean environment. */
async function runAdmin(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await runFile(
      process.execPath,
      [path.join(REPOSITORY_ROOT, 'bin/tokenwise.js'), 'admin', ...args],
      {
        cwd: temp.directory,
        env: {
          PATH: process.env.PATH ?? '',
          TOKENWISE_INSTALL_SECRET: TEST_INSTALL_SECRET,
          ...env,
        },
      },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string };
    return {
      code: failure.code,
      stdout: failure.stdout,
      stderr: failure.stderr,
    };
  }
}

describe('blank question', () => {
  it.each([' ', '   ', '\n\t  \r\n'])(
    'rejects %j without charging',
    async (question) => {
      backend = await startBackend();
      const install = await registerInstall(backend.url);

      const response = await postChat(backend.url, install.token, {
        question,
      });

      expect(response.status).toBe(400);
      const body = await readErrorBody(response);
      expect(body.error.code).toBe('invalid_request');
      expect(body.error.message).toContain('"question"');
      expect(body.error.message).toContain('whitespace');
      expect(fake.requests).toHaveLength(0);
      const usageResponse = await fetch(`${backend.url}/v1/usage`, {
        headers: { authorization: `Bearer ${install.token}` },
      });
      const usage = usageResponseSchema.parse(await usageResponse.json());
      expect(usage.used).toBe(0);
      expect(usage.reserved).toBe(0);
      const view = await readAdminView(backend, install.installId);
      expect(view.ledger.map((entry) => entry.kind)).toEqual(['reset']);
    },
  );
});

describe('unknown path', () => {
  it('lists every endpoint in the 404', async () => {
    backend = await startBackend();

    const response = await fetch(`${backend.url}/v1/nothing`);

    expect(response.status).toBe(404);
    const body = await readErrorBody(response);
    expect(body.error.code).toBe('not_found');
    for (const endpoint of [
      'POST /v1/installs',
      'DELETE /v1/installs/me',
      'POST /v1/chat',
      'GET /v1/usage',
      'GET /v1/plans',
      'POST /v1/billing/checkout',
      'POST /v1/billing/webhook',
      'GET /privacy',
      'GET /healthz',
      'GET /dashboard',
      'GET /metrics',
      '/v1/admin/',
    ]) {
      expect(body.error.message).toContain(endpoint);
    }
  });
});

describe('plans file', () => {
  const PAID_TERMS = {
    premiumWeight: 3,
    requestsPerMinute: 60,
    tokensPerMinute: 500_000,
  };
  const FREE_TERMS = {
    premiumWeight: 5,
    requestsPerMinute: 20,
    tokensPerMinute: 200_000,
  };

  function loadPlans(
    content: Record<string, unknown>,
    freePremiumTokens?: number | 'unlimited',
  ) {
    const plansFile = path.join(temp.directory, 'plans.json');
    writeFileSync(plansFile, JSON.stringify(content));
    const logs = createCapturingLogger();
    const plans = createPlans(
      {
        freeTokens: 10_000,
        premiumWeight: 5,
        requestsPerMinute: 20,
        tokensPerMinute: 200_000,
        plansFile,
        freePremiumTokens,
      },
      logs.logger,
    );
    const warnings = logs.lines.filter((line) => line.level === 40);
    return { plans, warnings };
  }

  it('rejects a free plan with a price', () => {
    let error: unknown;
    try {
      loadPlans({
        free: {
          allowanceTokens: 20_000,
          ...FREE_TERMS,
          stripePriceId: 'price_free',
        },
      });
    } catch (caught) {
      error = caught;
    }

    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain('free.stripePriceId');
    expect((error as Error).message).toContain('the free plan is not sold');
  });

  it('gives a free entry the default premium share', () => {
    const { plans } = loadPlans({
      free: { allowanceTokens: 20_000, ...FREE_TERMS },
    });

    expect(readPremiumAllowance(plans.free!)).toBe(5_000);
  });

  it('gives a free entry TOKENWISE_FREE_PREMIUM_TOKENS', () => {
    const { plans } = loadPlans(
      { free: { allowanceTokens: 20_000, ...FREE_TERMS } },
      1_234,
    );

    expect(readPremiumAllowance(plans.free!)).toBe(1_234);
  });

  it.each([
    ['free', 20_000],
    ['pro', 2_000_000],
  ])('lifts the premium limit of %s on unlimited', (name, allowanceTokens) => {
    const { plans } = loadPlans({
      [name]: {
        allowanceTokens,
        ...(name === 'free' ? FREE_TERMS : PAID_TERMS),
        premiumAllowanceTokens: 'unlimited',
      },
    });

    expect(plans[name]).toBeDefined();
    expect(readPremiumAllowance(plans[name]!)).toBeUndefined();
  });

  it('keeps a paid plan without a premium limit', () => {
    const { plans } = loadPlans({
      pro: { allowanceTokens: 2_000_000, ...PAID_TERMS },
    });

    expect(readPremiumAllowance(plans.pro!)).toBeUndefined();
  });

  it.each([5_000, 10_000])(
    'warns about a paid plan of %i tokens',
    (allowanceTokens) => {
      const { warnings } = loadPlans({
        small: { allowanceTokens, ...PAID_TERMS },
        pro: { allowanceTokens: 2_000_000, ...PAID_TERMS },
      });

      expect(warnings).toHaveLength(1);
      expect(warnings[0]?.plan).toBe('small');
      expect(String(warnings[0]?.msg)).toContain('not more than the free plan');
    },
  );

  it('warns at backend start-up', async () => {
    const plansFile = path.join(temp.directory, 'plans.json');
    writeFileSync(
      plansFile,
      JSON.stringify({ small: { allowanceTokens: 100, ...PAID_TERMS } }),
    );

    backend = await startBackend({
      TOKENWISE_PLANS_FILE: plansFile,
      TOKENWISE_FREE_TOKENS: '10000',
    });

    const warnings = backend.logs.lines.filter(
      (line) => line.level === 40 && line.plan === 'small',
    );
    expect(warnings).toHaveLength(1);
  });
});

describe('admin grant limits', () => {
  it.each([MAX_GRANT_TOKENS + 1, Number.MAX_SAFE_INTEGER])(
    'rejects a grant of %i tokens',
    async (tokens) => {
      backend = await startBackend({ TOKENWISE_FREE_TOKENS: '10000' });
      const install = await registerInstall(backend.url);

      const response = await postGrant(backend, install.installId, tokens);

      expect(response.status).toBe(400);
      const body = await readErrorBody(response);
      expect(body.error.code).toBe('invalid_request');
      expect(body.error.message).toContain('"tokens"');
      expect(body.error.message).toContain(String(MAX_GRANT_TOKENS));
      const view = await readAdminView(backend, install.installId);
      expect(view.usage.allowance).toBe(10_000);
    },
  );

  it('accepts a grant of the maximum', async () => {
    backend = await startBackend({ TOKENWISE_FREE_TOKENS: '10000' });
    const install = await registerInstall(backend.url);

    const response = await postGrant(
      backend,
      install.installId,
      MAX_GRANT_TOKENS,
    );

    expect(response.status).toBe(200);
    const view = adminInstallResponseSchema.parse(await response.json());
    expect(view.usage.allowance).toBe(10_000 + MAX_GRANT_TOKENS);
  });

  it('rejects a grant past the period maximum', async () => {
    backend = await startBackend({
      TOKENWISE_FREE_TOKENS: String(NEAR_MAX_FREE_TOKENS),
    });
    const install = await registerInstall(backend.url);

    const tooMuch = await postGrant(backend, install.installId, 101);
    const exact = await postGrant(backend, install.installId, 100);
    const oneMore = await postGrant(backend, install.installId, 1);

    expect(tooMuch.status).toBe(400);
    const tooMuchBody = await readErrorBody(tooMuch);
    expect(tooMuchBody.error.code).toBe('invalid_request');
    expect(tooMuchBody.error.message).toContain('Grant at most 100 tokens');
    expect(exact.status).toBe(200);
    expect(oneMore.status).toBe(400);
    const oneMoreBody = await readErrorBody(oneMore);
    expect(oneMoreBody.error.message).toContain('Grant at most 0 tokens');
    const view = await readAdminView(backend, install.installId);
    expect(view.usage.allowance).toBe(MAX_PERIOD_ALLOWANCE_TOKENS);
    expect(view.ledger.filter((entry) => entry.kind === 'grant')).toHaveLength(
      1,
    );
  });

  it('CLI rejects an oversized grant before sending it', async () => {
    const result = await runAdmin(
      ['grant', 'some-install', String(MAX_GRANT_TOKENS + 1)],
      { TOKENWISE_ADMIN_KEY: ADMIN_KEY },
    );

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `tokens must be at most ${MAX_GRANT_TOKENS} per grant`,
    );
  });

  it('CLI shows the install after rejected grants', async () => {
    backend = await startBackend({
      TOKENWISE_FREE_TOKENS: String(NEAR_MAX_FREE_TOKENS),
    });
    const install = await registerInstall(backend.url);
    const env = { TOKENWISE_ADMIN_KEY: ADMIN_KEY };

    const overHttp = await runAdmin(
      [
        'grant',
        install.installId,
        String(MAX_GRANT_TOKENS),
        '--url',
        backend.url,
      ],
      env,
    );
    const onDatabase = await runAdmin(
      [
        'grant',
        install.installId,
        String(MAX_GRANT_TOKENS),
        '--database',
        path.join(temp.directory, 'tokenwise.db'),
      ],
      { ...env, TOKENWISE_FREE_TOKENS: String(NEAR_MAX_FREE_TOKENS) },
    );
    const show = await runAdmin(
      ['show', install.installId, '--url', backend.url, '--json'],
      env,
    );

    expect(overHttp.code).toBe(1);
    expect(overHttp.stderr).toContain('the backend answered 400');
    expect(overHttp.stderr).toContain('Grant at most 100 tokens');
    expect(onDatabase.code).toBe(1);
    expect(onDatabase.stderr).toContain('Grant at most 100 tokens');
    expect(show.stderr).toBe('');
    expect(show.code).toBe(0);
    const view = adminInstallResponseSchema.parse(JSON.parse(show.stdout));
    expect(view.usage.allowance).toBe(NEAR_MAX_FREE_TOKENS);
  });
});

const NEAR_MAX_PLANS: Record<string, Plan> = {
  free: {
    name: 'free',
    allowanceTokens: NEAR_MAX_FREE_TOKENS,
    premiumWeight: 5,
    requestsPerMinute: 20,
    tokensPerMinute: 200_000,
  },
};
const STORE_NOW = new Date('2025-02-10T00:00:00.000Z');

describe.each([
  {
    name: 'SQLite',
    open: async (directory: string) => ({
      store: openSqliteStore({
        path: path.join(directory, 'grant.db'),
        plans: NEAR_MAX_PLANS,
      }),
      remove: async () => undefined,
    }),
  },
  {
    name: 'PostgreSQL',
    open: async () => {
      const schema = createTestSchema();
      const store = await openPostgresStore({
        url: TEST_POSTGRES_URL,
        schema: schema.name,
        plans: NEAR_MAX_PLANS,
      });
      return { store, remove: schema.drop };
    },
  },
])('$name store grant', ({ open }) => {
  let store: Store;
  let remove: () => Promise<void>;

  beforeEach(async () => {
    ({ store, remove } = await open(temp.directory));
    await store.createInstall({
      id: 'install-1',
      plan: 'free',
      now: STORE_NOW,
    });
  });

  afterEach(async () => {
    await store.close();
    await remove();
  });

  it('rejects a grant past the period maximum', async () => {
    await expect(
      store.grant({ installId: 'install-1', tokens: 101, now: STORE_NOW }),
    ).rejects.toThrow(RangeError);

    const balance = await store.getBalance('install-1', STORE_NOW);
    expect(balance.allowance).toBe(NEAR_MAX_FREE_TOKENS);
    const entries = await store.listLedgerEntries('install-1');
    expect(entries.filter((entry) => entry.kind === 'grant')).toEqual([]);
  });

  it('accepts a grant up to the period maximum', async () => {
    const balance = await store.grant({
      installId: 'install-1',
      tokens: 100,
      now: STORE_NOW,
    });

    expect(balance.allowance).toBe(MAX_PERIOD_ALLOWANCE_TOKENS);
  });
});
