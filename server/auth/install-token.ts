/**
 * Install tokens: `tw1.<payload>.<signature>`, where the payload is the
 * base64url JSON of the install id, issue time and expiry (Unix seconds),
 * and the signature is HMAC-SHA256 over `tw1.<payload>` with the install
 * secret, base64url encoded.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

const TOKEN_PREFIX = 'tw1';

export interface InstallTokenClaims {
  installId: string;
  issuedAt: Date;
  expiresAt: Date;
}

export type InstallTokenCheck =
  | { ok: true; claims: InstallTokenClaims }
  | {
      ok: false;
      reason: 'malformed' | 'forged' | 'expired';
      claims?: InstallTokenClaims;
    };

const payloadSchema = z.object({
  sub: z.string().min(1).max(128),
  iat: z.number().int().nonnegative(),
  exp: z.number().int().positive(),
});

/** Signs a token for an install; times are rounded down to whole seconds. */
export function signInstallToken(
  claims: InstallTokenClaims,
  secret: string,
): string {
  const payload = Buffer.from(
    JSON.stringify({
      sub: claims.installId,
      iat: toUnixSeconds(claims.issuedAt),
      exp: toUnixSeconds(claims.expiresAt),
    }),
  ).toString('base64url');
  const signed = `${TOKEN_PREFIX}.${payload}`;
  return `${signed}.${sign(signed, secret)}`;
}

/**
 * Checks a token's shape, signature (in constant time) and expiry. An
 * expired token with a valid signature still returns its claims, so a
 * caller may renew the same install.
 */
export function verifyInstallToken(
  token: string,
  secret: string,
  now: Date,
): InstallTokenCheck {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== TOKEN_PREFIX) {
    return { ok: false, reason: 'malformed' };
  }
  const [prefix, payload, signature] = parts as [string, string, string];

  const expected = Buffer.from(
    sign(`${prefix}.${payload}`, secret),
    'base64url',
  );
  const actual = Buffer.from(signature, 'base64url');
  // Re-encoding rejects other spellings of the same bytes, such as ones
  // with stray characters that base64url decoding skips.
  const canonical = actual.toString('base64url') === signature;
  if (
    !canonical ||
    actual.length !== expected.length ||
    !timingSafeEqual(actual, expected)
  ) {
    return { ok: false, reason: 'forged' };
  }

  const claims = decodePayload(payload);
  if (!claims) {
    return { ok: false, reason: 'malformed' };
  }
  if (claims.expiresAt.getTime() <= now.getTime()) {
    return { ok: false, reason: 'expired', claims };
  }
  return { ok: true, claims };
}

function decodePayload(payload: string): InstallTokenClaims | undefined {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  const result = payloadSchema.safeParse(json);
  if (!result.success) {
    return undefined;
  }
  return {
    installId: result.data.sub,
    issuedAt: new Date(result.data.iat * 1000),
    expiresAt: new Date(result.data.exp * 1000),
  };
}

function sign(data: string, secret: string): string {
  return createHmac('sha256', secret).update(data).digest('base64url');
}

function toUnixSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}
