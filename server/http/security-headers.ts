/**
 * Security headers on every response of the backend: no MIME sniffing, no
 * Referer sent onwards, no framing, and a Content-Security-Policy. JSON and
 * event streams get a policy that allows nothing. An HTML page without its
 * own policy gets a strict one that allows only same-origin scripts,
 * styles, images and requests.
 */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from './context';

/** Policy of every response that is not HTML: it loads nothing. */
export const API_CONTENT_SECURITY_POLICY =
  "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/**
 * Default policy of an HTML page, such as the dashboard: same-origin
 * scripts, styles, images and fetches only, no inline script, no plugins,
 * no framing. A handler that needs more (a script nonce, say) sets its own
 * Content-Security-Policy; `frame-ancestors 'none'` is then added to it
 * when missing.
 */
export const HTML_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Creates the middleware that adds the security headers after the handler. */
export function createSecurityHeaders(): MiddlewareHandler<AppEnv> {
  return async (context, next) => {
    await next();

    const headers = context.res.headers;
    headers.set('x-content-type-options', 'nosniff');
    headers.set('referrer-policy', 'no-referrer');
    headers.set('x-frame-options', 'DENY');

    const isHtml = (headers.get('content-type') ?? '').includes('text/html');
    const policy = headers.get('content-security-policy');
    if (policy === null) {
      headers.set(
        'content-security-policy',
        isHtml ? HTML_CONTENT_SECURITY_POLICY : API_CONTENT_SECURITY_POLICY,
      );
    } else if (!/(^|;)\s*frame-ancestors\s/i.test(policy)) {
      headers.set(
        'content-security-policy',
        `${policy.replace(/;\s*$/, '')}; frame-ancestors 'none'`,
      );
    }

    // Chat, usage and admin responses are per install, so no cache may keep them.
    if (!headers.has('cache-control')) {
      headers.set('cache-control', 'no-store');
    }
  };
}
