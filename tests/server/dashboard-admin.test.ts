/**
 * The admin report endpoints and commands against a seeded ledger: install
 * search, one install's ledger, revocation and the CSV export, over HTTP
 * and on the database.
 */
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runAdminCommand } from '../../server/commands/admin';
import { runAdminReportCommand } from '../../server/commands/admin-reports';
import { LEDGER_CSV_COLUMNS } from '../../server/dashboard/ledger-csv';
import type { LedgerEntry } from '../../server/store/types';
import {
  buildStandardSeed,
  SEED_ENV,
  seedLedger,
  TEST_ADMIN_KEY,
} from './dashboard-seed';
import {
  createTempDirectory,
  readErrorBody,
  registerInstall,
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

function adminFetch(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${backend.url}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` },
  });
}

async function listEntriesSince(since: Date): Promise<LedgerEntry[]> {
  const entries: LedgerEntry[] = [];
  for (const installId of ['install-alpha', 'install-beta', 'install-old']) {
    entries.push(...(await backend.store.listLedgerEntries(installId)));
  }
  return entries
    .filter((entry) => entry.createdAt >= since)
    .sort((left, right) => left.id - right.id);
}

function parseCsv(text: string): string[][] {
  return text
    .split('\r\n')
    .filter((line) => line !== '')
    .map((line) => line.split(','));
}

function startOfUtcDay(date: Date): Date {
  return new Date(
    Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()),
  );
}

async function runCommand(
  args: string[],
  command = runAdminReportCommand,
): Promise<{
  code: number;
  stdout: string;
  stderr: string;
}> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const chunks: Buffer[] = [];
  const errors: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  stderr.on('data', (chunk: Buffer) => errors.push(chunk));
  const code = await command({
    args,
    env: { TOKENWISE_ADMIN_KEY: TEST_ADMIN_KEY, ...SEED_ENV },
    stdout,
    stderr,
  });
  return {
    code,
    stdout: Buffer.concat(chunks).toString('utf8'),
    stderr: Buffer.concat(errors).toString('utf8'),
  };
}

describe('GET /v1/admin/installs', () => {
  it('rejects a request without the key', async () => {
    const response = await fetch(`${backend.url}/v1/admin/installs`);

    expect(response.status).toBe(401);
  });

  it('lists and searches installs', async () => {
    const all = await adminFetch('/v1/admin/installs');
    const alpha = await adminFetch('/v1/admin/installs?search=ALPHA');
    const wildcard = await adminFetch('/v1/admin/installs?search=%25');
    const allBody = (await all.json()) as { installs: Array<{ id: string }> };
    const alphaBody = (await alpha.json()) as {
      installs: Array<{ id: string; plan: string; lastActivityAt: string }>;
    };
    const wildcardBody = (await wildcard.json()) as { installs: unknown[] };

    expect(allBody.installs.map((install) => install.id).sort()).toEqual([
      'install-alpha',
      'install-beta',
      'install-old',
    ]);
    expect(alphaBody.installs).toHaveLength(1);
    expect(alphaBody.installs[0]?.plan).toBe('free');
    expect(alphaBody.installs[0]?.lastActivityAt).not.toBeNull();
    expect(wildcardBody.installs).toEqual([]);
  });

  it('rejects an invalid limit', async () => {
    const response = await adminFetch('/v1/admin/installs?limit=0');
    const body = await readErrorBody(response);

    expect(response.status).toBe(400);
    expect(body.error.field).toBe('limit');
  });
});

describe('install ledger and revocation', () => {
  it('returns one install ledger', async () => {
    const today = new Date().toISOString().slice(0, 10);
    const response = await adminFetch(
      `/v1/admin/installs/install-alpha/ledger?since=2000-01-01&until=${today}`,
    );
    const body = (await response.json()) as {
      entries: Array<{ id: number; kind: string; installId: string }>;
    };
    const stored = await backend.store.listLedgerEntries('install-alpha');

    expect(response.status).toBe(200);
    expect(body.entries.map((entry) => entry.id)).toEqual(
      stored.map((entry) => entry.id),
    );
    expect(new Set(body.entries.map((entry) => entry.installId))).toEqual(
      new Set(['install-alpha']),
    );
  });

  it('returns 404 for an unknown install', async () => {
    const response = await adminFetch('/v1/admin/installs/nobody/ledger');

    expect(response.status).toBe(404);
  });

  it('revokes an install token', async () => {
    const install = await registerInstall(backend.url);
    const before = await fetch(`${backend.url}/v1/usage`, {
      headers: { authorization: `Bearer ${install.token}` },
    });
    const revoke = await adminFetch(
      `/v1/admin/installs/${install.installId}/revoke`,
      { method: 'POST' },
    );
    const after = await fetch(`${backend.url}/v1/usage`, {
      headers: { authorization: `Bearer ${install.token}` },
    });

    expect(before.status).toBe(200);
    expect(revoke.status).toBe(200);
    expect(after.status).toBe(401);
    expect((await backend.store.getInstall(install.installId))?.revoked).toBe(
      true,
    );
  });
});

describe('ledger CSV export', () => {
  it('exports the range with costs', async () => {
    const now = new Date();
    const today = now.toISOString().slice(0, 10);
    const response = await adminFetch(
      `/v1/admin/ledger.csv?since=${today}&until=${today}`,
    );
    const rows = parseCsv(await response.text());
    const expected = await listEntriesSince(startOfUtcDay(now));

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(
      'text/csv; charset=utf-8',
    );
    expect(response.headers.get('content-disposition')).toContain(
      `tokenwise-ledger-${today}-to-${today}.csv`,
    );
    expect(rows[0]).toEqual([...LEDGER_CSV_COLUMNS]);
    expect(rows.slice(1).map((row) => Number(row[0]))).toEqual(
      expected.map((entry) => entry.id),
    );
    const costColumn = LEDGER_CSV_COLUMNS.indexOf('cost_usd');
    const modelColumn = LEDGER_CSV_COLUMNS.indexOf('model');
    for (const row of rows.slice(1)) {
      if (row[2] !== 'settle') {
        expect(row[costColumn], `entry ${row[0]}`).toBe('');
      } else if (row[modelColumn] === 'openai:gpt-5.5') {
        expect(row[costColumn], `entry ${row[0]}`).toBe('0.071000000');
      } else {
        expect(row[costColumn], `entry ${row[0]}`).toBe('0.009000000');
      }
    }
  });

  it('rejects an invalid date', async () => {
    const response = await adminFetch(
      '/v1/admin/ledger.csv?since=2026-02-30&until=2026-03-01',
    );
    const body = await readErrorBody(response);

    expect(response.status).toBe(400);
    expect(body.error.code).toBe('invalid_request');
    expect(body.error.field).toBe('since');
  });

  it('matches between HTTP and the database command', async () => {
    const today = new Date().toISOString().slice(0, 10);
    const range = ['--since', '2000-01-01', '--until', today];
    const overHttp = await runCommand([
      'export',
      '--url',
      backend.url,
      ...range,
    ]);
    const onDatabase = await runCommand([
      'export',
      '--database',
      backend.config.database.kind === 'sqlite'
        ? backend.config.database.path
        : '',
      ...range,
    ]);

    expect(overHttp.stderr).toBe('');
    expect(overHttp.code).toBe(0);
    expect(onDatabase.code).toBe(0);
    expect(onDatabase.stdout).toBe(overHttp.stdout);
    expect(parseCsv(overHttp.stdout).length).toBe(
      (await listEntriesSince(new Date(0))).length + 1,
    );
  });

  it('runs report actions from tokenwise admin', async () => {
    const today = new Date().toISOString().slice(0, 10);
    const args = ['export', '--url', backend.url, '--since', '2000-01-01'];
    const throughAdmin = await runCommand(
      [...args, '--until', today],
      runAdminCommand,
    );
    const direct = await runCommand([...args, '--until', today]);

    expect(throughAdmin.stderr).toBe('');
    expect(throughAdmin.code).toBe(0);
    expect(throughAdmin.stdout).toBe(direct.stdout);
  });

  it('rejects a command without a target', async () => {
    const result = await runCommand(['export']);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Pass exactly one of --url');
  });
});
