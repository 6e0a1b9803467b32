import { createHmac } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  INSTALL_SECRET_FILE,
  loadInstallSecret,
} from '../../server/auth/install-secret';
import {
  signInstallToken,
  verifyInstallToken,
} from '../../server/auth/install-token';
import { createTempDirectory } from './helpers';

const SECRET = 'a-secret-of-at-least-thirty-two-characters';
const ISSUED_AT = new Date('2025-03-01T12:00:00.000Z');
const EXPIRES_AT = new Date('2025-03-31T12:00:00.000Z');

function sign(installId = 'install-1', secret = SECRET): string {
  return signInstallToken(
    { installId, issuedAt: ISSUED_AT, expiresAt: EXPIRES_AT },
    secret,
  );
}

describe('verifyInstallToken', () => {
  it('accepts its own token', () => {
    const check = verifyInstallToken(
      sign(),
      SECRET,
      new Date('2025-03-10T00:00:00Z'),
    );

    expect(check.ok).toBe(true);
    expect(check.claims?.installId).toBe('install-1');
    expect(check.claims?.issuedAt.toISOString()).toBe(ISSUED_AT.toISOString());
    expect(check.claims?.expiresAt.toISOString()).toBe(
      EXPIRES_AT.toISOString(),
    );
  });

  it('rejects a token at its expiry', () => {
    const check = verifyInstallToken(sign(), SECRET, EXPIRES_AT);

    expect(check).toMatchObject({ ok: false, reason: 'expired' });
    expect(check.claims?.installId).toBe('install-1');
  });

  it('rejects another secret', () => {
    const check = verifyInstallToken(
      sign('install-1', 'another-secret-of-thirty-two-characters!'),
      SECRET,
      ISSUED_AT,
    );

    expect(check).toEqual({ ok: false, reason: 'forged' });
  });

  it('rejects a changed payload', () => {
    const [prefix, , signature] = sign().split('.');
    const payload = Buffer.from(
      JSON.stringify({ sub: 'install-2', iat: 1740830400, exp: 1743422400 }),
    ).toString('base64url');

    const check = verifyInstallToken(
      `${prefix}.${payload}.${signature}`,
      SECRET,
      ISSUED_AT,
    );

    expect(check).toEqual({ ok: false, reason: 'forged' });
  });

  it('rejects a changed signature', () => {
    const token = sign();
    const last = token.at(-1) === 'A' ? 'B' : 'A';

    const check = verifyInstallToken(
      `${token.slice(0, -1)}${last}`,
      SECRET,
      ISSUED_AT,
    );

    expect(check).toEqual({ ok: false, reason: 'forged' });
  });

  it.each([
    ['empty', ''],
    ['one part', 'tw1'],
    ['wrong prefix', sign().replace(/^tw1/, 'tw2')],
    ['four parts', `${sign()}.extra`],
  ])('rejects a malformed token: %s', (_name, token) => {
    expect(verifyInstallToken(token, SECRET, ISSUED_AT)).toEqual({
      ok: false,
      reason: 'malformed',
    });
  });

  it('rejects signed claims of the wrong shape', () => {
    const payload = Buffer.from('{"hello":1}').toString('base64url');
    const signature = createHmac('sha256', SECRET)
      .update(`tw1.${payload}`)
      .digest('base64url');

    const check = verifyInstallToken(
      `tw1.${payload}.${signature}`,
      SECRET,
      ISSUED_AT,
    );

    expect(check).toEqual({ ok: false, reason: 'malformed' });
  });
});

describe('loadInstallSecret', () => {
  let temp: ReturnType<typeof createTempDirectory>;

  beforeEach(() => {
    temp = createTempDirectory();
  });
  afterEach(() => temp.remove());

  it('prefers the configured secret', () => {
    const secret = loadInstallSecret({
      configured: SECRET,
      dataDirectory: temp.directory,
    });

    expect(secret).toEqual({ secret: SECRET, source: 'environment' });
  });

  it('generates a private file once', () => {
    const dataDirectory = path.join(temp.directory, 'data');

    const first = loadInstallSecret({ configured: undefined, dataDirectory });
    const second = loadInstallSecret({ configured: undefined, dataDirectory });

    const file = path.join(dataDirectory, INSTALL_SECRET_FILE);
    expect(first.source).toBe('generated');
    expect(first.secret).toMatch(/^[0-9a-f]{64}$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(second).toEqual({ secret: first.secret, source: 'file', file });
    expect(readFileSync(file, 'utf8').trim()).toBe(first.secret);
  });

  it('rejects a short secret file', () => {
    writeFileSync(path.join(temp.directory, INSTALL_SECRET_FILE), 'short\n');

    expect(() =>
      loadInstallSecret({
        configured: undefined,
        dataDirectory: temp.directory,
      }),
    ).toThrow(/has 5 characters, fewer than 32/);
  });
});
