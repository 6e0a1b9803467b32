/**
 * The backend's HTTP app (Hono), built from its dependencies so that tests
 * run it in-process (`app.request`) or behind a real server alike.
 */
import { randomUUID } from 'node:crypto';
import { Hono } from 'hono';
import { openBilling } from './billing/index';
import { openAnswerCache } from './cache/index';
import { addDashboardRoutes } from './dashboard/routes';
import { openSpendMonitor } from './dashboard/spend-monitor';
import { ActiveStreams } from './http/active-streams';
import { createBodyLimit } from './http/body-limit';
import { createAuthenticate } from './http/authenticate';
import { createCors, USER_API_PATHS } from './http/cors';
import type { AppDependencies, AppEnv, AppServices } from './http/context';
import { HttpError, sendHttpError } from './http/errors';
import { createSecurityHeaders } from './http/security-headers';
import { createRateLimiter } from './limits/index';
import { createPlans } from './plans';
import { addAdminRoutes } from './routes/admin';
import { createHttpMetricsMiddleware } from './metrics/http-metrics';
import { addAdminReportRoutes } from './routes/admin-reports';
import { addBillingRoutes } from './routes/billing';
import { addChatRoute } from './routes/chat';
import { addDeleteInstallRoute, addInstallsRoute } from './routes/installs';
import { addPrivacyRoutes } from './routes/privacy';
import { addUsageRoute } from './routes/usage';

/**
 * Largest request body accepted, in bytes: room for the schema's limits
 * (400,000 characters of page text, 100 turns of 64,000) at several bytes
 * per character.
 */
export const MAX_BODY_BYTES = 16 * 1024 * 1024;

/**
 * Maximum wait, after a stop begins, for the answers in flight before the
 * answer cache closes, in milliseconds: longer than the server's drain.
 */
const CACHE_CLOSE_WAIT_MS = 60_000;

export interface TokenwiseApp {
  app: Hono<AppEnv>;
  activeStreams: ActiveStreams;
  /** Rejects new chats from now on, for a graceful stop. */
  beginStop(): void;
  /**
   * Closes what the app opened itself (the answer cache, the rate
   * limiter), after the answers in flight end.
   */
  close(): Promise<void>;
}

/** Creates the HTTP app with its routes, error handling and request log. */
export function createApp(dependencies: AppDependencies): TokenwiseApp {
  let stopping = false;
  const services: AppServices = {
    ...dependencies,
    now: dependencies.now ?? (() => new Date()),
    activeStreams: dependencies.activeStreams ?? new ActiveStreams(),
    answerCache:
      dependencies.answerCache === undefined
        ? openAnswerCache(dependencies.config, dependencies.logger)
        : (dependencies.answerCache ?? undefined),
    plans:
      dependencies.plans ??
      createPlans(dependencies.config, dependencies.logger),
    rateLimiter:
      dependencies.rateLimiter ??
      createRateLimiter(dependencies.config, dependencies.logger),
    isStopping: () => stopping,
  };
  const { logger } = services;
  const app = new Hono<AppEnv>();
  // The dashboard, budgets, alerts and /metrics; undefined for :memory:.
  const spendMonitor = openSpendMonitor({
    config: services.config,
    logger,
    now: services.now,
  });
  if (spendMonitor !== undefined) {
    app.use(createHttpMetricsMiddleware(spendMonitor.httpMetrics));
  }

  // Paid plans share the dashboard's connection; it logs whether they are on.
  const billing = openBilling({
    config: services.config,
    plans: services.plans,
    store: services.store,
    logger,
    database: spendMonitor?.database,
  });

  app.use(createSecurityHeaders());

  app.use(async (context, next) => {
    const startedAt = performance.now();
    context.set('requestId', randomUUID());
    context.set('installId', undefined);
    context.set('installPlan', undefined);
    context.set('loggedByHandler', false);
    await next();

    context.header('x-request-id', context.get('requestId'));
    if (!context.get('loggedByHandler')) {
      logger.info(
        {
          requestId: context.get('requestId'),
          installId: context.get('installId'),
          method: context.req.method,
          route: context.req.routePath,
          status: context.res.status,
          ms: Math.round(performance.now() - startedAt),
        },
        'request',
      );
    }
  });
  const cors = createCors(dependencies.config.extensionOrigins);
  for (const path of USER_API_PATHS) {
    app.use(path, cors);
  }
  app.use(
    createBodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (context) =>
        sendHttpError(
          context,
          new HttpError({
            status: 413,
            code: 'prompt_too_large',
            message: `The request body is larger than ${MAX_BODY_BYTES} bytes. Send less page text or history.`,
          }),
        ),
    }),
  );

  app.onError((error, context) => {
    if (error instanceof HttpError) {
      return sendHttpError(context, error);
    }
    logger.error(
      {
        err: error,
        requestId: context.get('requestId'),
        installId: context.get('installId'),
        route: context.req.routePath,
      },
      'request failed',
    );
    return sendHttpError(
      context,
      new HttpError({
        status: 500,
        code: 'internal_error',
        message: `The backend failed on this request. Try again; if it keeps failing, report request id ${context.get('requestId')}.`,
      }),
    );
  });
  app.notFound((context) =>
    sendHttpError(
      context,
      new HttpError({
        status: 404,
        code: 'not_found',
        message: `${context.req.method} ${context.req.path} does not exist. The API serves POST /v1/installs, DELETE /v1/installs/me, POST /v1/chat, GET /v1/usage, GET /v1/plans, POST /v1/billing/checkout, POST /v1/billing/webhook, GET /privacy, GET /healthz, ${spendMonitor === undefined ? '' : 'GET /dashboard, GET /metrics, '}and the admin endpoints under /v1/admin/.`,
      }),
    ),
  );

  const authenticate = createAuthenticate(services);
  app.get('/healthz', (context) => context.json({ ok: true }));
  addPrivacyRoutes(app);
  addInstallsRoute(app, services);
  addDeleteInstallRoute(app, services);
  addChatRoute(app, services, authenticate, spendMonitor?.budgets);
  addUsageRoute(app, services, authenticate);
  addBillingRoutes(app, services, authenticate, billing);
  if (spendMonitor !== undefined) {
    addDashboardRoutes(app, services, spendMonitor);
    addAdminReportRoutes(app, services, spendMonitor);
  }
  addAdminRoutes(app, services);

  return {
    app,
    activeStreams: services.activeStreams,
    beginStop: () => {
      stopping = true;
      // Closed here as well as in close(), because a Redis connection left
      // open keeps the process alive. Requests that still arrive pass the
      // closed limiter.
      if (dependencies.rateLimiter === undefined) {
        void services.rateLimiter.close();
      }
      // The answer cache closes once the answers in flight have stored
      // theirs, for the same reason.
      const answerCache = services.answerCache;
      if (dependencies.answerCache === undefined && answerCache) {
        void services.activeStreams
          .waitForAll(CACHE_CLOSE_WAIT_MS)
          .then(() => answerCache.close());
      }
    },
    close: async () => {
      await spendMonitor?.close();
      // A cache passed in belongs to the caller, who closes it.
      if (dependencies.answerCache === undefined) {
        await services.answerCache?.close();
      }
      // Likewise a rate limiter passed in.
      if (dependencies.rateLimiter === undefined) {
        await services.rateLimiter.close();
      }
    },
  };
}
