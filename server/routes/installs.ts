/**
 * `POST /v1/installs`: registers an install and returns a signed token.
 * New registrations are limited per client IP address per hour, so that
 * reinstalling to collect free allowances does not pay off.
 *
 * A request that carries a correctly signed token of a known, unrevoked
 * install renews that install's token instead, so renewing keeps the
 * install's ledger and does not start a new allowance. An expired token
 * still renews for one more token lifetime after its expiry.
 *
 * `DELETE /v1/installs/me` deletes the install's data at the user's
 * request: its answers in the server cache, then the install itself, which
 * is revoked and stamped deleted while its ledger stays for accounting.
 */
import { randomUUID } from 'node:crypto';
import type { Hono } from 'hono';
import {
  registerInstallRequestSchema,
  type DeleteInstallResponse,
  type RegisterInstallResponse,
} from '../../lib/protocol';
import { signInstallToken, verifyInstallToken } from '../auth/install-token';
import { readBearerToken } from '../http/authenticate';
import type { AppEnv, AppServices } from '../http/context';
import { HttpError } from '../http/errors';
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

/** Adds `DELETE /v1/installs/me` to the app. */
export function addDeleteInstallRoute(
  app: Hono<AppEnv>,
  services: AppServices,
): void {
  app.delete('/v1/installs/me', async (context) => {
    const now = services.now();
    const installId = await findDeletableInstall(
      services,
      context.req.header('authorization'),
      now,
    );
    context.set('installId', installId);

    // The cache goes first: when it fails, the install is still valid and
    // the user can send the same request again.
    const cacheEntriesDeleted = await deleteCachedAnswers(
      services,
      installId,
      context.get('requestId'),
    );
    const result = await services.store.deleteInstallData({ installId, now });
    if (result.status === 'subscription_active') {
      services.logger.info(
        {
          requestId: context.get('requestId'),
          installId,
          subscriptionIds: result.subscriptionIds,
          cacheEntriesDeleted,
        },
        'install data deletion rejected: subscription active',
      );
      throw new HttpError({
        status: 409,
        code: 'invalid_request',
        message: `This install pays for a plan (subscription ${result.subscriptionIds.join(', ')}) that is not cancelled, so it was kept: its cached answers were deleted, nothing else. Cancel the subscription first, then delete your data again.`,
      });
    }
    if (result.status === 'not_found') {
      throw new HttpError({
        status: 404,
        code: 'not_found',
        message: `Install ${installId} no longer exists on this backend, so it holds no data to delete.`,
      });
    }
    // This process no longer stores the install's answers in flight.
    // TODO: another backend process sharing Redis still can, when one of
    // its answers for the install ends after this second pass; a repeated
    // DELETE removes that entry.
    const lateEntries = await deleteCachedAnswers(
      services,
      installId,
      context.get('requestId'),
    );

    services.logger.info(
      {
        requestId: context.get('requestId'),
        installId,
        status: result.status,
        cacheEntriesDeleted: cacheEntriesDeleted + lateEntries,
        ledgerEntriesKept: result.ledgerEntriesKept,
      },
      'install data deleted',
    );
    const response: DeleteInstallResponse = {
      installId,
      deletedAt: result.deletedAt.toISOString(),
      cacheEntriesDeleted: cacheEntriesDeleted + lateEntries,
      ledgerEntriesKept: result.ledgerEntriesKept,
    };
    return context.json(response, 200);
  });
}

/**
 * Returns the install a deletion request may delete: that of a correctly
 * signed token, expired for at most one token lifetime like a renewal,
 * whose install exists and was not revoked by the developer. An install
 * already deleted qualifies, so a repeated request succeeds. Throws 401
 * `unauthorized` otherwise.
 */
async function findDeletableInstall(
  services: AppServices,
  authorization: string | undefined,
  now: Date,
): Promise<string> {
  const token = readBearerToken(authorization);
  if (token === undefined) {
    throw deletionUnauthorized('The request has no install token.');
  }
  const check = verifyInstallToken(token, services.installSecret, now);
  const claims =
    check.ok || check.reason === 'expired' ? check.claims : undefined;
  if (!claims) {
    const forged = !check.ok && check.reason === 'forged';
    throw deletionUnauthorized(
      forged
        ? 'The install token has an invalid signature.'
        : 'The install token is malformed.',
    );
  }
  const graceMs = services.config.tokenTtlDays * DAY_MS;
  if (now.getTime() - claims.expiresAt.getTime() > graceMs) {
    throw deletionUnauthorized(
      `The install token expired at ${claims.expiresAt.toISOString()}, too long ago to prove the install is yours.`,
    );
  }
  const install = await services.store.getInstall(claims.installId);
  if (!install) {
    throw deletionUnauthorized(
      'This install is not registered with this backend.',
    );
  }
  if (install.revoked && install.deletedAt === undefined) {
    throw deletionUnauthorized(
      'This install was revoked by the backend operator; ask them to delete its data.',
    );
  }
  return install.id;
}

function deletionUnauthorized(sentence: string): HttpError {
  return new HttpError({
    status: 401,
    code: 'unauthorized',
    message: `${sentence} Nothing was deleted.`,
  });
}

/**
 * Deletes the install's entries from the server answer cache. A cache
 * that fails becomes 503, because the user must learn the deletion did
 * not happen.
 */
async function deleteCachedAnswers(
  services: AppServices,
  installId: string,
  requestId: string,
): Promise<number> {
  const cache = services.answerCache;
  if (!cache) {
    return 0;
  }
  try {
    return await cache.deleteInstallEntries(installId);
  } catch (error) {
    services.logger.error(
      { err: error, requestId, installId, storage: cache.storageKind },
      'deleting cached answers failed',
    );
    throw new HttpError({
      status: 503,
      code: 'internal_error',
      message: `The backend could not reach its answer cache, so the data of install ${installId} is not deleted yet. Try again in a minute; if it keeps failing, report request id ${requestId}.`,
    });
  }
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
