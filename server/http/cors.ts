/**
 * Cross-origin resource sharing for the user API. Only the extension's own
 * origins, from TOKENWISE_EXTENSION_IDS, get CORS headers; every other
 * origin gets none, so a web page cannot read a response.
 *
 * The extension's background worker does not need CORS at all, because
 * its host permission for the backend exempts it from CORS checks in
 * Chrome and Firefox. The allow-list matters for extension pages that call the
 * backend directly, and a web origin is never on it.
 */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from './context';

/** Paths of the user API, which extension pages may call cross-origin. */
export const USER_API_PATHS = ['/v1/installs', '/v1/chat', '/v1/usage'];

const ALLOWED_METHODS = 'GET, POST, OPTIONS';
const ALLOWED_HEADERS = 'authorization, content-type';
const EXPOSED_HEADERS = 'x-request-id, retry-after';
/** How long a browser may cache a preflight response, in seconds. */
const PREFLIGHT_MAX_AGE_SECONDS = 600;

// Chrome extension ids are 32 letters from a to p; Firefox's internal
// moz-extension hosts are UUIDs.
const CHROME_EXTENSION_ID = /^[a-p]{32}$/;
const FIREFOX_EXTENSION_UUID =
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Turns one TOKENWISE_EXTENSION_IDS entry into an origin: a Chrome id
 * becomes `chrome-extension://<id>`, a UUID becomes `moz-extension://<uuid>`,
 * and a full `chrome-extension://` or `moz-extension://` origin is kept.
 * Throws for anything else, naming the entry.
 */
export function parseExtensionOrigin(entry: string): string {
  const value = entry.trim();
  if (CHROME_EXTENSION_ID.test(value)) {
    return `chrome-extension://${value}`;
  }
  if (FIREFOX_EXTENSION_UUID.test(value)) {
    return `moz-extension://${value.toLowerCase()}`;
  }

  const origin = /^(chrome-extension|moz-extension):\/\/([^/]+)\/?$/i.exec(
    value,
  );
  const scheme = origin?.[1]?.toLowerCase();
  const host = origin?.[2] ?? '';
  if (scheme === 'chrome-extension' && CHROME_EXTENSION_ID.test(host)) {
    return `chrome-extension://${host}`;
  }
  if (scheme === 'moz-extension' && FIREFOX_EXTENSION_UUID.test(host)) {
    return `moz-extension://${host.toLowerCase()}`;
  }
  throw new Error(
    `"${value}" is not an extension id: use a Chrome id (32 letters a to p), a Firefox moz-extension UUID, or a chrome-extension:// or moz-extension:// origin`,
  );
}

/**
 * Creates the CORS middleware for the user API. A request from an allowed
 * origin gets `Access-Control-Allow-Origin` with that origin. A preflight
 * (`OPTIONS` with `Access-Control-Request-Method`) gets 204, and carries
 * the allowed methods and headers only when its origin is allowed. Responses
 * vary by Origin so a shared cache never serves one origin's headers to
 * another. No credentials are allowed: the API uses bearer tokens.
 */
export function createCors(
  allowedOrigins: readonly string[],
): MiddlewareHandler<AppEnv> {
  const allowed = new Set(allowedOrigins);

  return async (context, next) => {
    // TODO: on @hono/node-server the first header read builds a Headers
    // object of every request header, about 3% of a chat request's CPU in
    // bench/profile/profile-backend.ts; reading the Node request's headers
    // needs the same handling of repeated headers first.
    const origin = context.req.header('origin');
    const isAllowed = origin !== undefined && allowed.has(origin);
    const isPreflight =
      context.req.method === 'OPTIONS' &&
      context.req.header('access-control-request-method') !== undefined;

    if (isPreflight) {
      const headers = new Headers({ vary: 'Origin' });
      if (isAllowed) {
        headers.set('access-control-allow-origin', origin);
        headers.set('access-control-allow-methods', ALLOWED_METHODS);
        headers.set('access-control-allow-headers', ALLOWED_HEADERS);
        headers.set(
          'access-control-max-age',
          String(PREFLIGHT_MAX_AGE_SECONDS),
        );
      }
      return new Response(null, { status: 204, headers });
    }

    await next();

    context.res.headers.append('vary', 'Origin');
    if (isAllowed) {
      context.res.headers.set('access-control-allow-origin', origin);
      context.res.headers.set('access-control-expose-headers', EXPOSED_HEADERS);
    }
  };
}
