/**
 * Admin endpoints under /v1/admin/, behind `Authorization: Bearer <admin
 * key>` (TOKENWISE_ADMIN_KEY), compared in constant time. Without a
 * configured key every admin request gets 401.
 *
 * - `GET /v1/admin/plans`: the configured plans.
 * - `GET /v1/admin/installs/:installId`: the install, its usage and its
 *   latest ledger entries (`?entries=N`, default 50).
 * - `POST /v1/admin/installs/:installId/grant` `{"tokens": N}`.
 * - `POST /v1/admin/installs/:installId/plan` `{"plan": "name"}`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Hono, MiddlewareHandler } from 'hono';
import {
  adminGrantRequestSchema,
  adminPlanRequestSchema,
  MAX_PERIOD_ALLOWANCE_TOKENS,
  type AdminInstallResponse,
} from '../../lib/protocol';
import { readBearerToken } from '../http/authenticate';
import type { AppEnv, AppServices } from '../http/context';
import { HttpError } from '../http/errors';
import { parseJsonBody } from '../http/parse-body';
import type { Plan, Store } from '../store/types';
import { computeUsage } from './usage';

/** Ledger entries in the install view when the `entries` parameter is absent. */
export const DEFAULT_LEDGER_ENTRIES = 50;
const MAX_LEDGER_ENTRIES = 10_000;

/** Adds the admin endpoints to the app. */
export function addAdminRoutes(app: Hono<AppEnv>, services: AppServices): void {
  const requireAdmin = createRequireAdmin(services);

  app.get('/v1/admin/plans', requireAdmin, (context) =>
    context.json({ plans: Object.values(services.plans) }),
  );

  app.get('/v1/admin/installs/:installId', requireAdmin, async (context) => {
    const entries = parseEntriesParameter(context.req.query('entries'));
    const view = await buildAdminInstallView({
      store: services.store,
      installId: context.req.param('installId'),
      now: services.now(),
      entries,
    });
    return context.json(view);
  });

  app.post(
    '/v1/admin/installs/:installId/grant',
    requireAdmin,
    async (context) => {
      const installId = context.req.param('installId');
      const body = await parseJsonBody(context, adminGrantRequestSchema);
      await requireInstall(services.store, installId);
      await requireGrantFits({
        store: services.store,
        installId,
        tokens: body.tokens,
        now: services.now(),
      });
      await services.store.grant({
        installId,
        tokens: body.tokens,
        now: services.now(),
      });
      services.logger.info(
        { requestId: context.get('requestId'), installId, tokens: body.tokens },
        'admin granted tokens',
      );
      return context.json(
        await buildAdminInstallView({
          store: services.store,
          installId,
          now: services.now(),
        }),
      );
    },
  );

  app.post(
    '/v1/admin/installs/:installId/plan',
    requireAdmin,
    async (context) => {
      const installId = context.req.param('installId');
      const body = await parseJsonBody(context, adminPlanRequestSchema);
      requirePlan(services.plans, body.plan);
      await requireInstall(services.store, installId);
      await services.store.changePlan({
        installId,
        plan: body.plan,
        now: services.now(),
      });
      services.logger.info(
        { requestId: context.get('requestId'), installId, plan: body.plan },
        'admin changed plan',
      );
      return context.json(
        await buildAdminInstallView({
          store: services.store,
          installId,
          now: services.now(),
        }),
      );
    },
  );
}

/**
 * Builds the admin view of an install: the install, its usage in the
 * current period and its latest ledger entries. Throws a 404 HttpError for
 * an unknown install.
 */
export async function buildAdminInstallView(options: {
  store: Store;
  installId: string;
  now: Date;
  entries?: number;
}): Promise<AdminInstallResponse> {
  const install = await requireInstall(options.store, options.installId);
  const usage = await computeUsage(options.store, install.id, options.now);
  const ledger = await options.store.listLedgerEntries(install.id);

  return {
    install: {
      id: install.id,
      createdAt: install.createdAt.toISOString(),
      plan: install.plan,
      revoked: install.revoked,
    },
    usage,
    ledger: ledger
      .slice(-(options.entries ?? DEFAULT_LEDGER_ENTRIES))
      .map((entry) => ({
        id: entry.id,
        kind: entry.kind,
        requestId: entry.requestId,
        periodStart: entry.periodStart.toISOString(),
        tier: entry.tier,
        model: entry.model,
        inputTokens: entry.inputTokens,
        cachedInputTokens: entry.cachedInputTokens,
        outputTokens: entry.outputTokens,
        weight: entry.weight,
        allowanceTokens: entry.allowanceTokens,
        estimated: entry.estimated,
        createdAt: entry.createdAt.toISOString(),
      })),
  };
}

/** Throws a 400 HttpError naming the configured plans when `plan` is not one. */
export function requirePlan(
  plans: Readonly<Record<string, Plan>>,
  plan: string,
): Plan {
  const found = plans[plan];
  if (!found) {
    throw new HttpError({
      status: 400,
      code: 'invalid_request',
      message: `No plan is named "${plan}". The configured plans are: ${Object.keys(plans).join(', ')}.`,
      details: { field: 'plan' },
    });
  }
  return found;
}

/**
 * Throws a 400 HttpError when a grant would lift the period's allowance
 * past MAX_PERIOD_ALLOWANCE_TOKENS.
 */
export async function requireGrantFits(options: {
  store: Store;
  installId: string;
  tokens: number;
  now: Date;
}): Promise<void> {
  // NOTE: the balance is read outside the grant's transaction, so two
  // concurrent grants can both pass this check. The store's grant checks
  // again in its transaction and throws a RangeError, which becomes a 500.
  const balance = await options.store.getBalance(
    options.installId,
    options.now,
  );
  const headroom = Math.max(MAX_PERIOD_ALLOWANCE_TOKENS - balance.allowance, 0);
  if (options.tokens > headroom) {
    throw new HttpError({
      status: 400,
      code: 'invalid_request',
      message: `A grant of ${options.tokens} tokens would lift the period's allowance of ${balance.allowance} past the maximum of ${MAX_PERIOD_ALLOWANCE_TOKENS}. Grant at most ${headroom} tokens.`,
      details: { field: 'tokens' },
    });
  }
}

async function requireInstall(store: Store, installId: string) {
  const install = await store.getInstall(installId);
  if (!install) {
    throw new HttpError({
      status: 404,
      code: 'not_found',
      message: `No install has the id ${installId}. Copy the id from the extension's options page or the backend's log.`,
    });
  }
  return install;
}

function parseEntriesParameter(value: string | undefined): number {
  if (value === undefined) {
    return DEFAULT_LEDGER_ENTRIES;
  }
  const entries = Number(value);
  if (
    !Number.isInteger(entries) ||
    entries < 0 ||
    entries > MAX_LEDGER_ENTRIES
  ) {
    throw new HttpError({
      status: 400,
      code: 'invalid_request',
      message: `entries must be a whole number from 0 to ${MAX_LEDGER_ENTRIES}, not "${value}".`,
      details: { field: 'entries' },
    });
  }
  return entries;
}

function createRequireAdmin(services: AppServices): MiddlewareHandler<AppEnv> {
  const expected = services.config.adminKey;
  const expectedDigest = expected === undefined ? undefined : digest(expected);

  return async (context, next) => {
    if (expectedDigest === undefined) {
      throw new HttpError({
        status: 401,
        code: 'unauthorized',
        message:
          'The admin endpoints are off because TOKENWISE_ADMIN_KEY is not set. Set it on the backend and send it as Authorization: Bearer <key>.',
      });
    }
    const key = readBearerToken(context.req.header('authorization'));
    // Comparing digests of equal length keeps the comparison constant-time
    // whatever the length of the key sent.
    if (key === undefined || !timingSafeEqual(digest(key), expectedDigest)) {
      services.logger.warn(
        { requestId: context.get('requestId'), route: context.req.path },
        'admin request rejected',
      );
      throw new HttpError({
        status: 401,
        code: 'unauthorized',
        message: `The admin key is ${key === undefined ? 'missing' : 'wrong'}. Send TOKENWISE_ADMIN_KEY as Authorization: Bearer <key>.`,
      });
    }
    await next();
  };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
