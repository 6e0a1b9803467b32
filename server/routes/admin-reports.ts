/**
 * Admin endpoints for the spend dashboard's tooling, behind the admin key
 * (`Authorization: Bearer <key>` or the dashboard's session cookie):
 *
 * - `GET /v1/admin/installs?search=TEXT&limit=N&offset=N`: installs,
 *   newest first, whose id or plan contains TEXT.
 * - `GET /v1/admin/installs/:installId/ledger?since=DATE&until=DATE`: the
 *   install's ledger entries as JSON, or as CSV with `format=csv`.
 * - `POST /v1/admin/installs/:installId/revoke`: rejects the install's
 *   token from the next request on.
 * - `GET /v1/admin/ledger.csv?since=DATE&until=DATE`: every install's
 *   entries as CSV. Dates are UTC days, YYYY-MM-DD, both included.
 */
import type { Context, Hono } from 'hono';
import {
  listLedgerRows,
  revokeInstall,
  searchInstalls,
} from '../dashboard/install-queries';
import { streamLedgerCsv } from '../dashboard/ledger-csv';
import { isAdminRequest } from '../dashboard/session';
import type { SpendMonitor } from '../dashboard/spend-monitor';
import type { AppEnv, AppServices } from '../http/context';
import { HttpError } from '../http/errors';

/** Installs listed per page unless the `limit` query parameter sets another number. */
export const DEFAULT_INSTALL_PAGE = 50;
const MAX_INSTALL_PAGE = 1_000;
/** Ledger entries returned as JSON per request at most. */
export const MAX_LEDGER_JSON_ENTRIES = 10_000;
const DAY_MS = 86_400_000;

/** Adds the admin report endpoints. */
export function addAdminReportRoutes(
  app: Hono<AppEnv>,
  services: AppServices,
  monitor: SpendMonitor,
): void {
  app.use('/v1/admin/installs', requireAdminMiddleware(services));
  app.use('/v1/admin/installs/:installId/*', requireAdminMiddleware(services));
  app.use('/v1/admin/ledger.csv', requireAdminMiddleware(services));

  app.get('/v1/admin/installs', async (context) => {
    const installs = await searchInstalls(monitor.database, {
      search: context.req.query('search'),
      limit: parseWholeNumber(
        context,
        'limit',
        DEFAULT_INSTALL_PAGE,
        1,
        MAX_INSTALL_PAGE,
      ),
      offset: parseWholeNumber(
        context,
        'offset',
        0,
        0,
        Number.MAX_SAFE_INTEGER,
      ),
    });
    return context.json({ installs });
  });

  app.get('/v1/admin/installs/:installId/ledger', async (context) => {
    const installId = context.req.param('installId');
    await requireInstall(services, installId);
    const range = parseDayRange(context, services.now());

    if (context.req.query('format') === 'csv') {
      return sendCsv(context, monitor, range, installId);
    }
    const entries = await listLedgerRows(monitor.database, {
      installId,
      since: range.since,
      until: range.until,
      afterId: 0,
      limit: MAX_LEDGER_JSON_ENTRIES + 1,
    });
    return context.json({
      installId,
      since: new Date(range.since).toISOString(),
      until: new Date(range.until).toISOString(),
      entries: entries.slice(0, MAX_LEDGER_JSON_ENTRIES),
      truncated: entries.length > MAX_LEDGER_JSON_ENTRIES,
    });
  });

  app.post('/v1/admin/installs/:installId/revoke', async (context) => {
    const installId = context.req.param('installId');
    if (!(await revokeInstall(monitor.database, installId))) {
      throw installNotFound(installId);
    }
    services.logger.info(
      { requestId: context.get('requestId'), installId },
      'admin revoked install',
    );
    return context.json({ installId, revoked: true });
  });

  app.get('/v1/admin/ledger.csv', (context) =>
    sendCsv(context, monitor, parseDayRange(context, services.now())),
  );
}

function sendCsv(
  context: Context<AppEnv>,
  monitor: SpendMonitor,
  range: { since: number; until: number; label: string },
  installId?: string,
): Response {
  const name = `tokenwise-ledger-${installId === undefined ? '' : `${installId}-`}${range.label}.csv`;
  return new Response(
    streamLedgerCsv({
      database: monitor.database,
      prices: monitor.prices,
      since: range.since,
      until: range.until,
      installId,
    }),
    {
      status: 200,
      headers: {
        'content-type': 'text/csv; charset=utf-8',
        'content-disposition': `attachment; filename="${name.replace(/[^\w.-]/g, '_')}"`,
      },
    },
  );
}

function requireAdminMiddleware(services: AppServices) {
  return async (context: Context<AppEnv>, next: () => Promise<void>) => {
    if (!isAdminRequest(context, services.config.adminKey, services.now())) {
      services.logger.warn(
        { requestId: context.get('requestId'), route: context.req.path },
        'admin request rejected',
      );
      throw new HttpError({
        status: 401,
        code: 'unauthorized',
        message:
          services.config.adminKey === undefined
            ? 'The admin endpoints are off because TOKENWISE_ADMIN_KEY is not set. Set it on the backend and send it as Authorization: Bearer <key>.'
            : 'The admin key is missing or wrong. Send TOKENWISE_ADMIN_KEY as Authorization: Bearer <key>.',
      });
    }
    await next();
  };
}

async function requireInstall(
  services: AppServices,
  installId: string,
): Promise<void> {
  if ((await services.store.getInstall(installId)) === undefined) {
    throw installNotFound(installId);
  }
}

function installNotFound(installId: string): HttpError {
  return new HttpError({
    status: 404,
    code: 'not_found',
    message: `Install ${installId} does not exist. List installs with GET /v1/admin/installs?search=TEXT.`,
  });
}

/**
 * Reads `since` and `until` (UTC days, both included) as a range of
 * milliseconds with `until` excluded. Both default to today.
 */
function parseDayRange(
  context: Context<AppEnv>,
  now: Date,
): { since: number; until: number; label: string } {
  const today = now.toISOString().slice(0, 10);
  const since = context.req.query('since') ?? today;
  const until = context.req.query('until') ?? today;
  const sinceMs = parseDay(since, 'since');
  const untilMs = parseDay(until, 'until') + DAY_MS;
  if (untilMs <= sinceMs) {
    throw new HttpError({
      status: 400,
      code: 'invalid_request',
      message: `The range ends (${until}) before it starts (${since}). Send since on or before until.`,
      details: { field: 'until' },
    });
  }
  return { since: sinceMs, until: untilMs, label: `${since}-to-${until}` };
}

function parseDay(value: string, field: string): number {
  const time = /^\d{4}-\d{2}-\d{2}$/.test(value)
    ? Date.parse(`${value}T00:00:00Z`)
    : Number.NaN;
  if (
    Number.isNaN(time) ||
    new Date(time).toISOString().slice(0, 10) !== value
  ) {
    throw new HttpError({
      status: 400,
      code: 'invalid_request',
      message: `${field} "${value}" is not a valid date. Write it as YYYY-MM-DD, for example 2026-01-31.`,
      details: { field },
    });
  }
  return time;
}

function parseWholeNumber(
  context: Context<AppEnv>,
  field: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const value = context.req.query(field);
  if (value === undefined) {
    return fallback;
  }
  const parsed = /^\d{1,16}$/.test(value) ? Number(value) : Number.NaN;
  if (Number.isNaN(parsed) || parsed < min || parsed > max) {
    throw new HttpError({
      status: 400,
      code: 'invalid_request',
      message: `${field} "${value}" is invalid. Send a whole number from ${min} to ${max}.`,
      details: { field },
    });
  }
  return parsed;
}
