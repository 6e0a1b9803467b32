/**
 * The admin API and the `tokenwise admin` command run as a real process:
 * the admin key check, grants and plan changes over HTTP and directly on
 * the database, and the period reset at the exact second with an injected
 * clock.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  adminInstallResponseSchema,
  usageResponseSchema,
} from '../../lib/protocol';
import { createApp } from '../../server/app';
import { signInstallToken } from '../../server/auth/install-token';
import { runAdminCommand } from '../../server/commands/admin';
import { createPlans } from '../../server/plans';
import { createTierProviders } from '../../server/providers/index';
import { openSqliteStore } from '../../server/store/sqlite';
import { REPOSITORY_ROOT } from '../../scripts/harness/backend';
import {
  createCapturingLogger,
  createTempDirectory,
  createTestConfig,
  readErrorBody,
  registerInstall,
  startTestBackend,
  TEST_INSTALL_SECRET,
  type TestBackend,
} from './helpers';

const runFile = promisify(execFile);
const ADMIN_KEY = 'test-admin-key-0123456789abcdef';
const PLANS_FILE_CONTENT = {
  pro: {
    allowanceTokens: 2_000_000,
    premiumWeight: 3,
    requestsPerMinute: 60,
    tokensPerMinute: 500_000,
    stripePriceId: 'price_test_pro',
  },
};

let temp: ReturnType<typeof createTempDirectory>;
let backend: TestBackend | undefined;
let plansFile: string;

beforeEach(() => {
  temp = createTempDirectory();
  plansFile = path.join(temp.directory, 'plans.json');
  writeFileSync(plansFile, JSON.stringify(PLANS_FILE_CONTENT));
});

afterEach(async () => {
  await backend?.stop({ drainTimeoutMs: 1_000 });
  backend = undefined;
  temp.remove();
});

function startWithAdmin(): Promise<TestBackend> {
  return startTestBackend(temp.directory, {
    TOKENWISE_ADMIN_KEY: ADMIN_KEY,
    TOKENWISE_PLANS_FILE: plansFile,
    TOKENWISE_FREE_TOKENS: '10000',
  });
}

/** Runs `tokenwise admin ...` as a child process with a clean environment. */
async function runAdmin(
  args: string[],
  env: Record<string, string> = {},
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
          TOKENWISE_PLANS_FILE: plansFile,
          TOKENWISE_FREE_TOKENS: '10000',
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

describe('admin API', () => {
  it.each([
    { name: 'no key', authorization: undefined, expected: 'missing' },
    { name: 'a wrong key', authorization: 'Bearer wrong', expected: 'wrong' },
    {
      name: 'an install token',
      authorization: `Bearer ${signInstallToken(
        {
          installId: 'someone',
          issuedAt: new Date(),
          expiresAt: new Date(Date.now() + 60_000),
        },
        TEST_INSTALL_SECRET,
      )}`,
      expected: 'wrong',
    },
  ])('answers 401 for $name', async ({ authorization, expected }) => {
    backend = await startWithAdmin();

    const response = await fetch(`${backend.url}/v1/admin/plans`, {
      headers: authorization ? { authorization } : {},
    });

    expect(response.status).toBe(401);
    const body = await readErrorBody(response);
    expect(body.error.code).toBe('unauthorized');
    expect(body.error.message).toContain(`The admin key is ${expected}`);
  });

  it('answers 401 when no key is configured', async () => {
    backend = await startTestBackend(temp.directory);

    const response = await fetch(`${backend.url}/v1/admin/plans`, {
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    });

    expect(response.status).toBe(401);
    const body = await readErrorBody(response);
    expect(body.error.message).toContain('TOKENWISE_ADMIN_KEY is not set');
  });

  it('lists the configured plans', async () => {
    backend = await startWithAdmin();

    const response = await fetch(`${backend.url}/v1/admin/plans`, {
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    });

    expect(response.status).toBe(200);
    const body = (await response.json()) as { plans: Array<{ name: string }> };
    expect(body.plans.map((plan) => plan.name)).toEqual(['free', 'pro']);
  });

  it('answers 404 for an unknown install', async () => {
    backend = await startWithAdmin();

    const response = await fetch(`${backend.url}/v1/admin/installs/nobody`, {
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    });

    expect(response.status).toBe(404);
    expect((await readErrorBody(response)).error.code).toBe('not_found');
  });
});

describe('admin command', () => {
  it('grants and changes plan over HTTP', async () => {
    backend = await startWithAdmin();
    const install = await registerInstall(backend.url);
    const env = { TOKENWISE_ADMIN_KEY: ADMIN_KEY };

    const grant = await runAdmin(
      ['grant', install.installId, '5000', '--url', backend.url, '--json'],
      env,
    );
    const plan = await runAdmin(
      ['plan', install.installId, 'pro', '--url', backend.url, '--json'],
      env,
    );
    const show = await runAdmin(
      ['show', install.installId, '--url', backend.url],
      env,
    );

    expect(grant.stderr).toBe('');
    expect(grant.code).toBe(0);
    const granted = adminInstallResponseSchema.parse(JSON.parse(grant.stdout));
    expect(granted.usage.allowance).toBe(15_000);
    expect(granted.ledger.map((entry) => entry.kind)).toEqual([
      'reset',
      'grant',
    ]);
    expect(plan.code).toBe(0);
    const changed = adminInstallResponseSchema.parse(JSON.parse(plan.stdout));
    expect(changed.install.plan).toBe('pro');
    expect(changed.usage.plan).toBe('pro');
    expect(changed.usage.allowance).toBe(2_005_000);
    expect(changed.usage.premiumWeight).toBe(3);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain(`Install ${install.installId}`);
    expect(show.stdout).toContain('Plan pro: 2005000 allowance tokens');

    const usage = usageResponseSchema.parse(
      await (
        await fetch(`${backend.url}/v1/usage`, {
          headers: { authorization: `Bearer ${install.token}` },
        })
      ).json(),
    );
    expect(usage.plan).toBe('pro');
    expect(usage.allowance).toBe(2_005_000);
  });

  it('grants directly on the database', async () => {
    backend = await startWithAdmin();
    const install = await registerInstall(backend.url);
    const database = path.join(temp.directory, 'tokenwise.db');

    const grant = await runAdmin([
      'grant',
      install.installId,
      '700',
      '--database',
      database,
      '--json',
    ]);

    expect(grant.stderr).toBe('');
    expect(grant.code).toBe(0);
    const view = adminInstallResponseSchema.parse(JSON.parse(grant.stdout));
    expect(view.usage.allowance).toBe(10_700);
    const balance = await backend.store.getBalance(
      install.installId,
      new Date(),
    );
    expect(balance.allowance).toBe(10_700);
  });

  it.each([
    {
      name: 'an unknown plan',
      args: (id: string) => ['plan', id, 'gold'],
      message: 'No plan is named "gold". The configured plans are: free, pro.',
    },
    {
      name: 'an unknown install',
      args: () => ['grant', 'nobody', '10'],
      message: 'no install has the id nobody',
    },
  ])('fails on $name', async ({ args, message }) => {
    backend = await startWithAdmin();
    const install = await registerInstall(backend.url);
    const database = path.join(temp.directory, 'tokenwise.db');

    const result = await runAdmin([
      ...args(install.installId),
      '--database',
      database,
    ]);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(message);
  });

  it.each([
    { args: ['grant', 'id', '-5', '--url', 'http://127.0.0.1:1'] },
    { args: ['grant', 'id', '5'] },
    { args: ['refund', 'id', '--url', 'http://127.0.0.1:1'] },
  ])('rejects usage $args', async ({ args }) => {
    // Run in-process: a usage error never reaches the network or a database.
    let stderr = '';
    const code = await runAdminCommand({
      args,
      env: {},
      stdout: new Writable({ write: (_chunk, _encoding, done) => done() }),
      stderr: new Writable({
        write: (chunk: Buffer, _encoding, done) => {
          stderr += chunk.toString('utf8');
          done();
        },
      }),
    });

    expect(code).toBe(2);
    expect(stderr).toContain('tokenwise admin');
  });
});

describe('period reset', () => {
  it('starts a new period at the exact second', async () => {
    const config = createTestConfig(temp.directory, {
      TOKENWISE_FREE_TOKENS: '10000',
    });
    const store = openSqliteStore({
      path: path.join(temp.directory, 'tokenwise.db'),
      plans: createPlans(config),
    });
    let now = new Date('2025-01-31T10:20:30.400Z');
    const { app, beginStop } = createApp({
      config,
      store,
      providers: createTierProviders(config),
      logger: createCapturingLogger().logger,
      installSecret: TEST_INSTALL_SECRET,
      now: () => now,
      answerCache: null,
    });
    try {
      const registered = await app.request('/v1/installs', { method: 'POST' });
      const { installId, token } = (await registered.json()) as {
        installId: string;
        token: string;
      };
      await store.grant({ installId, tokens: 500, now });
      const readUsage = async () =>
        usageResponseSchema.parse(
          await (
            await app.request('/v1/usage', {
              headers: { authorization: `Bearer ${token}` },
            })
          ).json(),
        );

      now = new Date('2025-02-28T10:20:29.999Z');
      const lastMoment = await readUsage();
      now = new Date('2025-02-28T10:20:30.000Z');
      const firstMoment = await readUsage();

      expect(lastMoment.periodStart).toBe('2025-01-31T10:20:30.000Z');
      expect(lastMoment.resetAt).toBe('2025-02-28T10:20:30.000Z');
      expect(lastMoment.allowance).toBe(10_500);
      expect(firstMoment.periodStart).toBe('2025-02-28T10:20:30.000Z');
      expect(firstMoment.resetAt).toBe('2025-03-31T10:20:30.000Z');
      expect(firstMoment.allowance).toBe(10_000);
      const resets = (await store.listLedgerEntries(installId)).filter(
        (entry) => entry.kind === 'reset',
      );
      expect(resets.map((entry) => entry.createdAt.toISOString())).toEqual([
        '2025-01-31T10:20:30.400Z',
        '2025-02-28T10:20:30.000Z',
      ]);
    } finally {
      beginStop();
      await store.close();
    }
  });
});
