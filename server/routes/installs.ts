/**
 * `POST /v1/installs`: registers an install and returns a signed token.
 * New registrations are limited per client IP address per hour, so that
 * reinstalling to collect free allowances does not pay off.
 *
 * A request that carries a correctly signed token of a known, unrevoked
 * install renews that install's token instead, so renewing keeps the
 * install's ledger and does not start a new allowance. An expired token
 * still renews for one more token lifetime after its expiry.
 */
import { randomUUID } from 'node:crypto';
import type { Hono } from 'hono';
import {
  registerInstallRequestSchema,
  type RegisterInstallResponse,
} from '../../lib/protocol';
import { signInstallToken, verifyInstallToken } from '../auth/install-token';
import { readBearerToken } from '../http/authenticate';
import type { AppEnv, AppServices } from '../http/context';
import { parseJsonBody } from '../http/parse-body';
import {
  enforceRateLimit,
  HOUR_MS,
  readClientAddress,
} from '../limits/enforce';
import { FREE_PLAN } from '../plans';

const DAY_MS = 86_400_000;

/** Adds the installs route to the app. */
export function addInstallsRoute(
  app: Hono<AppEnv>,
  services: AppServices,
): void {
  app.post('/v1/installs', async (context) => {
    const body = await parseJsonBody(context, registerInstallRequestSchema, {
      allowEmpty: true,
    });
    const now = services.now();

    const renewedId = await findRenewableInstall(
      services,
      context.req.header('authorization'),
      now,
    );
    if (renewedId === undefined) {
      const { registrationsPerHour } = services.config;
      await enforceRateLimit({
        limiter: services.rateLimiter,
        key: `registrations:${readClientAddress(context, services.config.trustProxy)}`,
        limit: registrationsPerHour,
        cost: 1,
        windowMs: HOUR_MS,
        now,
        reason: `Too many new installs from this address: the backend registers ${registrationsPerHour} per hour`,
      });
    }
    const installId =
      renewedId ??
      (
        await services.store.createInstall({
          id: randomUUID(),
          plan: FREE_PLAN,
          now,
        })
      ).id;
    context.set('installId', installId);

    const expiresAt = new Date(
      now.getTime() + services.config.tokenTtlDays * DAY_MS,
    );
    const token = signInstallToken(
      { installId, issuedAt: now, expiresAt },
      services.installSecret,
    );
    services.logger.info(
      {
        requestId: context.get('requestId'),
        installId,
        renewed: renewedId !== undefined,
        extensionVersion: body.extensionVersion,
        browser: body.browser,
      },
      renewedId ? 'install token renewed' : 'install registered',
    );

    const response: RegisterInstallResponse = {
      installId,
      token,
      // The token stores whole seconds, so the reported expiry does too.
      expiresAt: new Date(
        Math.floor(expiresAt.getTime() / 1000) * 1000,
      ).toISOString(),
    };
    return context.json(response, renewedId ? 200 : 201);
  });
}

/** Returns the install id of a correctly signed token worth renewing. */
async function findRenewableInstall(
  services: AppServices,
  authorization: string | undefined,
  now: Date,
): Promise<string | undefined> {
  const token = readBearerToken(authorization);
  if (token === undefined) {
    return undefined;
  }
  const check = verifyInstallToken(token, services.installSecret, now);
  const claims =
    check.ok || check.reason === 'expired' ? check.claims : undefined;
  if (!claims) {
    return undefined;
  }
  const graceMs = services.config.tokenTtlDays * DAY_MS;
  if (now.getTime() - claims.expiresAt.getTime() > graceMs) {
    return undefined;
  }
  const install = await services.store.getInstall(claims.installId);
  return install && !install.revoked ? install.id : undefined;
}
