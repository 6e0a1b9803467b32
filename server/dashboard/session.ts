/**
 * The dashboard's admin session: the login form posts the admin key, and
 * the backend responds with a cookie that carries an expiry signed with an
 * HMAC keyed by the admin key. Changing TOKENWISE_ADMIN_KEY therefore ends
 * every session, and no session state is stored.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import { getCookie } from 'hono/cookie';
import { readBearerToken } from '../http/authenticate';
import type { AppEnv } from '../http/context';

/** Name of the session cookie. */
export const SESSION_COOKIE = 'tokenwise_dashboard';
/** Session lifetime, in seconds: one working day. */
export const SESSION_TTL_SECONDS = 12 * 3600;

/** Returns true when `key` is the admin key, compared in constant time. */
export function isAdminKey(adminKey: string | undefined, key: string): boolean {
  if (adminKey === undefined) {
    return false;
  }
  // Digests have equal lengths whatever the length of the key sent.
  return timingSafeEqual(digest(key), digest(adminKey));
}

/** Creates a session cookie value that expires `ttlSeconds` after `now`. */
export function createSessionValue(
  adminKey: string,
  now: Date,
  ttlSeconds = SESSION_TTL_SECONDS,
): string {
  const expiresAt = Math.floor(now.getTime() / 1000) + ttlSeconds;
  return `${expiresAt}.${sign(adminKey, String(expiresAt))}`;
}

/** Returns true when the value is a session signed with this key and not expired. */
export function isValidSession(
  adminKey: string | undefined,
  value: string | undefined,
  now: Date,
): boolean {
  if (adminKey === undefined || value === undefined) {
    return false;
  }
  const match = /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(value);
  if (!match) {
    return false;
  }
  const [, expiresAt, signature] = match as unknown as [string, string, string];
  const expected = Buffer.from(sign(adminKey, expiresAt));
  if (!timingSafeEqual(Buffer.from(signature), expected)) {
    return false;
  }
  return Number(expiresAt) * 1000 > now.getTime();
}

/**
 * Returns true when the request carries a valid session cookie or the
 * admin key as `Authorization: Bearer <key>`.
 */
export function isAdminRequest(
  context: Context<AppEnv>,
  adminKey: string | undefined,
  now: Date,
): boolean {
  if (isValidSession(adminKey, getCookie(context, SESSION_COOKIE), now)) {
    return true;
  }
  const bearer = readBearerToken(context.req.header('authorization'));
  return bearer !== undefined && isAdminKey(adminKey, bearer);
}

/**
 * Returns true when the browser reached the backend over HTTPS, directly
 * or, with TOKENWISE_TRUST_PROXY, through a proxy whose X-Forwarded-Proto header is https.
 */
export function isHttpsRequest(
  context: Context<AppEnv>,
  trustProxy: boolean,
): boolean {
  if (new URL(context.req.url).protocol === 'https:') {
    return true;
  }
  return (
    trustProxy &&
    context.req.header('x-forwarded-proto')?.split(',')[0]?.trim() === 'https'
  );
}

function sign(adminKey: string, payload: string): string {
  return createHmac('sha256', adminKey)
    .update(`tokenwise-dashboard-session:${payload}`)
    .digest('base64url');
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
