/**
 * Starts the backend: opens and migrates the store, loads the install
 * secret, builds the providers and the app, and listens with
 * @hono/node-server. The returned handle stops it gracefully.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { formatModelRef } from '../lib/catalog';
import { TIERS } from '../lib/protocol';
import { createApp, type TokenwiseApp } from './app';
import { loadInstallSecret } from './auth/install-secret';
import type { Config } from './config';
import type { Logger } from './logger';
import { createPlans } from './plans';
import { createTierProviders, type TierProviders } from './providers/index';
import { openStore } from './store/index';
import type { Store } from './store/types';

/** How often expired reservations are released, in milliseconds. */
export const SWEEP_INTERVAL_MS = 60_000;

/** How long a stop waits for answers in flight before aborting them, in milliseconds. */
export const DEFAULT_DRAIN_TIMEOUT_MS = 10_000;

export interface StartServerOptions {
  config: Config;
  logger: Logger;
  /** Overrides the providers built from the configuration. */
  providers?: TierProviders;
  /** Pause between the demo model's deltas, in milliseconds. */
  demoDeltaDelayMs?: number;
}

export interface RunningServer {
  /** `http://HOST:PORT` with the port actually bound. */
  url: string;
  port: number;
  store: Store;
  app: TokenwiseApp;
  /**
   * Stops accepting connections, waits up to drainTimeoutMs for answers in
   * flight, aborts the rest (settling or releasing them), then closes the app's
   * connections and the store.
   */
  stop(options?: { drainTimeoutMs?: number }): Promise<void>;
}

/** Starts the backend. Throws when the store or the port cannot be opened. */
export async function startServer(
  options: StartServerOptions,
): Promise<RunningServer> {
  const { config } = options;

  const store = await openStore({
    database: config.database,
    plans: createPlans(config),
  });
  try {
    return await listenWithStore(options, store);
  } catch (error) {
    await store.close();
    throw error;
  }
}

async function listenWithStore(
  options: StartServerOptions,
  store: Store,
): Promise<RunningServer> {
  const { config, logger } = options;

  const secret = loadInstallSecret({
    configured: config.installSecret,
    dataDirectory: config.dataDirectory,
  });
  if (secret.source === 'generated') {
    logger.info({ file: secret.file }, 'generated a new install secret');
  }

  const providers =
    options.providers ??
    createTierProviders(config, { demoDeltaDelayMs: options.demoDeltaDelayMs });
  warnAboutProviders(providers, config, logger);

  await sweepExpiredReservations(store, logger);
  const sweeper = setInterval(() => {
    void sweepExpiredReservations(store, logger);
  }, SWEEP_INTERVAL_MS);
  sweeper.unref();

  const tokenwise = createApp({
    config,
    store,
    providers,
    logger,
    installSecret: secret.secret,
  });
  const server = await listen(tokenwise, config);
  const port = (server.address() as AddressInfo).port;
  const url = `http://${formatHost(config.host)}:${port}`;
  logger.info(
    {
      url,
      database:
        config.database.kind === 'sqlite' ? config.database.path : 'postgres',
      cheapModel: providers.cheap.modelName,
      premiumModel: providers.premium.modelName,
    },
    'backend started',
  );

  let stopped: Promise<void> | undefined;
  const stop = (stopOptions: { drainTimeoutMs?: number } = {}) => {
    stopped ??= (async () => {
      logger.info(
        { activeAnswers: tokenwise.activeStreams.size },
        'backend stopping',
      );
      tokenwise.beginStop();
      clearInterval(sweeper);
      const closed = new Promise<void>((resolve) =>
        server.close(() => resolve()),
      );
      server.closeIdleConnections();

      const drained = await tokenwise.activeStreams.waitForAll(
        stopOptions.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS,
      );
      if (!drained) {
        logger.warn(
          { activeAnswers: tokenwise.activeStreams.size },
          'aborting answers still streaming at stop',
        );
        await tokenwise.activeStreams.abortAll();
      }
      server.closeAllConnections();
      await closed;
      // The app's own connections (cache, limiter, dashboard, alert timer)
      // close before the store they may still write to.
      await tokenwise.close();
      await store.close();
      logger.info('backend stopped');
    })();
    return stopped;
  };

  return { url, port, store, app: tokenwise, stop };
}

function listen(tokenwise: TokenwiseApp, config: Config): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = serve(
      {
        fetch: tokenwise.app.fetch,
        port: config.port,
        hostname: config.host,
      },
      () => {
        server.off('error', reject);
        resolve(server as Server);
      },
    );
    server.once('error', reject);
  });
}

function warnAboutProviders(
  providers: TierProviders,
  config: Config,
  logger: Logger,
): void {
  for (const tier of TIERS) {
    const provider = providers[tier];
    if (provider.demo) {
      logger.warn(
        { tier, model: provider.modelName, reason: provider.demoReason },
        `the ${tier} tier answers with the offline demo model`,
      );
      continue;
    }
    const modelKey = formatModelRef(provider.modelRef);
    if (config.prices[modelKey] === undefined) {
      logger.warn(
        { tier, model: modelKey },
        'the price catalog does not list this model, so its cost is reported as 0; add it with TOKENWISE_PRICES_FILE',
      );
    }
  }
}

async function sweepExpiredReservations(
  store: Store,
  logger: Logger,
): Promise<void> {
  try {
    const released = await store.releaseExpiredReservations(new Date());
    for (const reservation of released) {
      logger.warn(
        {
          requestId: reservation.requestId,
          installId: reservation.installId,
          amount: reservation.amount,
          expiresAt: reservation.expiresAt.toISOString(),
        },
        'released an expired reservation',
      );
    }
  } catch (error) {
    logger.error({ err: error }, 'releasing expired reservations failed');
  }
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
