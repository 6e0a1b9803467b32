/**
 * The spend dashboard and /metrics:
 *
 * - `GET /dashboard`: the page after sign-in, the login form before.
 * - `POST /dashboard/login` (form field `key`): checks the admin key and
 *   sets the session cookie (HttpOnly, SameSite=Strict, Secure over HTTPS).
 * - `POST /dashboard/logout`: clears the cookie.
 * - `GET /dashboard/api/summary`: the figures as JSON.
 * - `GET /dashboard/static/*`: the page's script, style sheet and icon.
 * - `GET /metrics`: Prometheus text.
 *
 * The JSON and /metrics take the session cookie or the admin key as
 * `Authorization: Bearer <key>`.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Context, Hono } from 'hono';
import { deleteCookie, setCookie } from 'hono/cookie';
import type { AppEnv, AppServices } from '../http/context';
import { HttpError } from '../http/errors';
import { renderMetrics } from '../metrics/render-metrics';
import { PROMETHEUS_CONTENT_TYPE } from '../metrics/prometheus';
import { renderDashboardPage, renderLoginPage } from './pages';
import {
  createSessionValue,
  isAdminKey,
  isAdminRequest,
  isHttpsRequest,
  isValidSession,
  SESSION_COOKIE,
  SESSION_TTL_SECONDS,
} from './session';
import type { SpendMonitor } from './spend-monitor';
import { buildDashboardSummary } from './summary';
import { getCookie } from 'hono/cookie';

const STATIC_DIRECTORY = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  'static',
);
const FAVICON = path.join(
  STATIC_DIRECTORY,
  '..',
  '..',
  'static',
  'favicon.png',
);

const STATIC_FILES: Record<string, { file: string; contentType: string }> = {
  'dashboard.js': {
    file: path.join(STATIC_DIRECTORY, 'dashboard.js'),
    contentType: 'text/javascript; charset=utf-8',
  },
  'dashboard.css': {
    file: path.join(STATIC_DIRECTORY, 'dashboard.css'),
    contentType: 'text/css; charset=utf-8',
  },
  'favicon.png': { file: FAVICON, contentType: 'image/png' },
};

/** Adds the dashboard and /metrics routes. */
export function addDashboardRoutes(
  app: Hono<AppEnv>,
  services: AppServices,
  monitor: SpendMonitor,
): void {
  const adminKey = services.config.adminKey;
  const staticBodies = new Map(
    Object.entries(STATIC_FILES).map(([name, entry]) => [
      name,
      { body: readFileSync(entry.file), contentType: entry.contentType },
    ]),
  );

  app.get('/dashboard', (context) => {
    const signedIn = isValidSession(
      adminKey,
      getCookie(context, SESSION_COOKIE),
      services.now(),
    );
    return context.html(signedIn ? renderDashboardPage() : renderLoginPage());
  });

  app.post('/dashboard/login', async (context) => {
    const form = await context.req.parseBody();
    const key = typeof form.key === 'string' ? form.key : '';
    if (adminKey === undefined) {
      return context.html(
        renderLoginPage(
          'The dashboard is off because TOKENWISE_ADMIN_KEY is not set on the backend.',
        ),
        401,
      );
    }
    if (!isAdminKey(adminKey, key)) {
      services.logger.warn(
        { requestId: context.get('requestId') },
        'dashboard sign-in rejected',
      );
      return context.html(
        renderLoginPage('The admin key is wrong. Enter TOKENWISE_ADMIN_KEY.'),
        401,
      );
    }
    setCookie(
      context,
      SESSION_COOKIE,
      createSessionValue(adminKey, services.now()),
      {
        httpOnly: true,
        secure: isHttpsRequest(context, services.config.trustProxy),
        sameSite: 'Strict',
        path: '/',
        maxAge: SESSION_TTL_SECONDS,
      },
    );
    services.logger.info(
      { requestId: context.get('requestId') },
      'dashboard sign-in',
    );
    return context.redirect('/dashboard', 303);
  });

  app.post('/dashboard/logout', (context) => {
    deleteCookie(context, SESSION_COOKIE, { path: '/' });
    return context.redirect('/dashboard', 303);
  });

  app.get('/dashboard/api/summary', async (context) => {
    requireAdmin(context, adminKey, services.now());
    return context.json(await buildDashboardSummary(monitor, services.now()));
  });

  app.get('/dashboard/static/:name', (context) => {
    const entry = staticBodies.get(context.req.param('name'));
    if (entry === undefined) {
      throw new HttpError({
        status: 404,
        code: 'not_found',
        message: `The dashboard has no file ${context.req.param('name')}.`,
      });
    }
    return context.body(new Uint8Array(entry.body), 200, {
      'content-type': entry.contentType,
    });
  });

  app.get('/metrics', async (context) => {
    requireAdmin(context, adminKey, services.now());
    const text = await renderMetrics(monitor, services.now());
    return context.body(text, 200, { 'content-type': PROMETHEUS_CONTENT_TYPE });
  });
}

function requireAdmin(
  context: Context<AppEnv>,
  adminKey: string | undefined,
  now: Date,
): void {
  if (!isAdminRequest(context, adminKey, now)) {
    throw new HttpError({
      status: 401,
      code: 'unauthorized',
      message:
        adminKey === undefined
          ? 'The dashboard is off because TOKENWISE_ADMIN_KEY is not set on the backend.'
          : 'Sign in at /dashboard, or send TOKENWISE_ADMIN_KEY as Authorization: Bearer <key>.',
    });
  }
}
