/**
 * Attacks on authentication over real HTTP. Install tokens that are
 * forged, expired, truncated, signed with another secret, tampered with,
 * in another token format, or of a revoked install get 401, and so do
 * admin requests without the right key. None of them changes anything.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { signInstallToken } from '../../server/auth/install-token';
import { startFakeProvider, type FakeProvider } from '../fake-provider/index';
import { startSecurityBackend } from '../security/helpers';
import {
  createTempDirectory,
  postChat,
  readErrorBody,
  registerInstall,
  TEST_INSTALL_SECRET,
  type TestBackend,
} from './helpers';

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

const ADMIN_KEY = 'admin-key-for-the-auth-tests-0123456789';
const DAY_MS = 86_400_000;

function base64url(value: string | Buffer): string {
  return Buffer.from(value).toString('base64url');
}

function hmac(data: string, secret: string): string {
  return createHmac('sha256', secret).update(data).digest('base64url');
}

/** Signs a `tw1` token over an arbitrary payload with the test secret. */
function signPayload(payload: unknown, secret = TEST_INSTALL_SECRET): string {
  const signed = `tw1.${base64url(JSON.stringify(payload))}`;
  return `${signed}.${hmac(signed, secret)}`;
}

/** Tokens an attacker could send, built from a real install's token. */
function buildAttackTokens(
  token: string,
  installId: string,
): Array<[string, string]> {
  const [prefix, payload, signature] = token.split('.') as [
    string,
    string,
    string,
  ];
  const now = Math.floor(Date.now() / 1000);
  const claims = JSON.parse(
    Buffer.from(payload, 'base64url').toString('utf8'),
  ) as { sub: string; iat: number; exp: number };
  const flipped = signature.at(-2) === 'A' ? 'B' : 'A';
  const jwtHeader = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const jwtPayload = base64url(
    JSON.stringify({ sub: installId, exp: now + 3600 }),
  );

  return [
    ['an empty token', ''],
    ['random text', 'not-a-token'],
    ['the payload alone', payload],
    ['a token without its signature', `${prefix}.${payload}`],
    ['a token with an empty signature', `${prefix}.${payload}.`],
    ['a truncated signature', token.slice(0, -4)],
    ['a truncated payload', `${prefix}.${payload.slice(0, -3)}.${signature}`],
    [
      'a changed signature',
      `${prefix}.${payload}.${signature.slice(0, -2)}${flipped}${signature.at(-1)}`,
    ],
    ['a padded signature', `${token}=`],
    [
      'a signature with a stray character',
      `${token.slice(0, 20)}*${token.slice(20)}`,
    ],
    ['an extra segment', `${token}.${signature}`],
    ['another version prefix', `tw2.${payload}.${signature}`],
    ['an upper-case prefix', `TW1.${payload}.${signature}`],
    [
      'another install id under the old signature',
      `${prefix}.${base64url(JSON.stringify({ ...claims, sub: randomUUID() }))}.${signature}`,
    ],
    [
      'a later expiry under the old signature',
      `${prefix}.${base64url(JSON.stringify({ ...claims, exp: claims.exp + 365 * 86_400 }))}.${signature}`,
    ],
    [
      'another secret',
      signInstallToken(
        {
          installId,
          issuedAt: new Date(),
          expiresAt: new Date(Date.now() + DAY_MS),
        },
        'another-secret-that-is-at-least-32-characters',
      ),
    ],
    [
      'an expired token',
      signInstallToken(
        {
          installId,
          issuedAt: new Date(Date.now() - 40 * DAY_MS),
          expiresAt: new Date(Date.now() - 10 * DAY_MS),
        },
        TEST_INSTALL_SECRET,
      ),
    ],
    [
      'a token signed with an empty secret',
      signInstallToken(
        {
          installId,
          issuedAt: new Date(),
          expiresAt: new Date(Date.now() + DAY_MS),
        },
        '',
      ),
    ],
    [
      'an unsigned JWT (alg none)',
      `${base64url('{"alg":"none"}')}.${jwtPayload}.`,
    ],
    [
      'an HS256 JWT signed with the install secret',
      `${jwtHeader}.${jwtPayload}.${hmac(`${jwtHeader}.${jwtPayload}`, TEST_INSTALL_SECRET)}`,
    ],
    [
      'a signed payload with a numeric id',
      signPayload({ sub: 42, iat: now, exp: now + 3600 }),
    ],
    [
      'a signed payload with a string expiry',
      signPayload({ sub: installId, iat: now, exp: String(now + 3600) }),
    ],
    [
      'a signed payload that is not JSON',
      `tw1.${base64url('{')}.${hmac(`tw1.${base64url('{')}`, TEST_INSTALL_SECRET)}`,
    ],
    [
      'a signed token of an unknown install',
      signPayload({ sub: randomUUID(), iat: now, exp: now + 3600 }),
    ],
  ];
}

describe('install tokens', () => {
  it('rejects every forged or broken token with 401', async () => {
    const server = await (backend = await startSecurityBackend({
      directory: temp.directory,
      fake,
    }));
    const install = await registerInstall(server.url);
    const attacks = buildAttackTokens(install.token, install.installId);

    for (const [label, token] of attacks) {
      const usage = await fetch(`${server.url}/v1/usage`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const chat = await postChat(server.url, token, { question: 'Hi' });

      expect(usage.status, label).toBe(401);
      expect((await readErrorBody(usage)).error.code, label).toBe(
        'unauthorized',
      );
      expect(chat.status, label).toBe(401);
      expect((await readErrorBody(chat)).error.code, label).toBe(
        'unauthorized',
      );
    }
    expect(fake.requests).toHaveLength(0);
    expect(await server.store.listLedgerEntries(install.installId)).toEqual([]);
  });

  it.each([
    ['no header', undefined],
    ['another scheme', 'Basic dXNlcjpwYXNz'],
    ['two tokens', 'Bearer a b'],
    ['the bare token', 'TOKEN'],
  ])('rejects %s in Authorization', async (_label, header) => {
    backend = await startSecurityBackend({ directory: temp.directory, fake });
    const install = await registerInstall(backend.url);
    const headers: Record<string, string> = {};
    if (header !== undefined) {
      headers.authorization = header.replace('TOKEN', install.token);
    }

    const response = await fetch(`${backend.url}/v1/usage`, { headers });

    expect(response.status).toBe(401);
  });

  it('ignores a token in the query string', async () => {
    backend = await startSecurityBackend({ directory: temp.directory, fake });
    const install = await registerInstall(backend.url);

    const response = await fetch(
      `${backend.url}/v1/usage?token=${install.token}&access_token=${install.token}`,
    );

    expect(response.status).toBe(401);
  });

  it("rejects a revoked install's token and does not renew it", async () => {
    backend = await startSecurityBackend({
      directory: temp.directory,
      fake,
      env: { TOKENWISE_ADMIN_KEY: ADMIN_KEY },
    });
    const install = await registerInstall(backend.url);
    const revoke = await fetch(
      `${backend.url}/v1/admin/installs/${install.installId}/revoke`,
      { method: 'POST', headers: { authorization: `Bearer ${ADMIN_KEY}` } },
    );
    expect(revoke.status).toBe(200);

    const usage = await fetch(`${backend.url}/v1/usage`, {
      headers: { authorization: `Bearer ${install.token}` },
    });
    const chat = await postChat(backend.url, install.token, { question: 'Hi' });
    const renewal = await fetch(`${backend.url}/v1/installs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${install.token}` },
    });
    const renewed = (await renewal.json()) as { installId: string };

    expect(usage.status).toBe(401);
    expect((await readErrorBody(usage)).error.message).toContain('revoked');
    expect(chat.status).toBe(401);
    expect(fake.requests).toHaveLength(0);
    expect(renewal.status).toBe(201);
    expect(renewed.installId).not.toBe(install.installId);
  });

  it('does not renew a victim install from a forged token', async () => {
    backend = await startSecurityBackend({ directory: temp.directory, fake });
    const victim = await registerInstall(backend.url);
    const forged = signInstallToken(
      {
        installId: victim.installId,
        issuedAt: new Date(),
        expiresAt: new Date(Date.now() + DAY_MS),
      },
      'another-secret-that-is-at-least-32-characters',
    );

    const response = await fetch(`${backend.url}/v1/installs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${forged}` },
    });
    const body = (await response.json()) as { installId: string };

    expect(response.status).toBe(201);
    expect(body.installId).not.toBe(victim.installId);
  });
});

describe('admin endpoints', () => {
  it.each([
    ['no key', undefined],
    ['an empty key', 'Bearer '],
    [
      'a wrong key of the same length',
      `Bearer ${'x'.repeat(ADMIN_KEY.length)}`,
    ],
    ['the key with one character changed', `Bearer ${ADMIN_KEY.slice(0, -1)}!`],
    ['a prefix of the key', `Bearer ${ADMIN_KEY.slice(0, 10)}`],
    ['the key with a suffix', `Bearer ${ADMIN_KEY}0`],
    ['the key in another scheme', `Basic ${ADMIN_KEY}`],
  ])('rejects %s with 401', async (_label, header) => {
    backend = await startSecurityBackend({
      directory: temp.directory,
      fake,
      env: { TOKENWISE_ADMIN_KEY: ADMIN_KEY },
    });
    const install = await registerInstall(backend.url);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
    };
    if (header !== undefined) {
      headers.authorization = header;
    }

    const responses = await Promise.all([
      fetch(`${backend.url}/v1/admin/plans`, { headers }),
      fetch(`${backend.url}/v1/admin/installs/${install.installId}`, {
        headers,
      }),
      fetch(`${backend.url}/v1/admin/installs/${install.installId}/grant`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ tokens: 1_000_000 }),
      }),
      fetch(`${backend.url}/v1/admin/installs/${install.installId}/revoke`, {
        method: 'POST',
        headers,
      }),
    ]);

    for (const response of responses) {
      expect(response.status).toBe(401);
      expect((await readErrorBody(response)).error.code).toBe('unauthorized');
    }
    const balance = await backend.store.getBalance(
      install.installId,
      new Date(),
    );
    expect(balance.allowance).toBe(backend.config.freeTokens);
    const usage = await fetch(`${backend.url}/v1/usage`, {
      headers: { authorization: `Bearer ${install.token}` },
    });
    expect(usage.status).toBe(200);
  });

  it('rejects an install token used as the admin key', async () => {
    backend = await startSecurityBackend({
      directory: temp.directory,
      fake,
      env: { TOKENWISE_ADMIN_KEY: ADMIN_KEY },
    });
    const install = await registerInstall(backend.url);

    const response = await fetch(`${backend.url}/v1/admin/plans`, {
      headers: { authorization: `Bearer ${install.token}` },
    });

    expect(response.status).toBe(401);
  });

  it('rejects every key when none is configured', async () => {
    backend = await startSecurityBackend({ directory: temp.directory, fake });

    const response = await fetch(`${backend.url}/v1/admin/plans`, {
      headers: { authorization: 'Bearer undefined' },
    });

    expect(response.status).toBe(401);
  });

  it('accepts the right key', async () => {
    backend = await startSecurityBackend({
      directory: temp.directory,
      fake,
      env: { TOKENWISE_ADMIN_KEY: ADMIN_KEY },
    });

    const response = await fetch(`${backend.url}/v1/admin/plans`, {
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    });

    expect(response.status).toBe(200);
  });
});

describe('secret comparison in the source', () => {
  it.each([
    ['server/auth/install-token.ts', /actual\.length !== expected\.length/],
    ['server/routes/admin.ts', /createHash\('sha256'\)/],
  ])('%s compares with timingSafeEqual', (file, equalLengthCheck) => {
    const source = readFileSync(
      path.join(import.meta.dirname, '../..', file),
      'utf8',
    );

    expect(source).toMatch(/timingSafeEqual\(/);
    expect(source).toMatch(equalLengthCheck);
    // A plain === on two secrets returns early at the first difference.
    expect(source).not.toMatch(
      /(key|token|signature|secret|digest)\s*[!=]==(?!\s*undefined)/i,
    );
  });
});
