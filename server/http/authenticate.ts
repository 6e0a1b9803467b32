/**
 * Install authentication: `Authorization: Bearer <install token>`. A
 * missing, malformed, forged or expired token, or one for an unknown or
 * revoked install, gets 401 `unauthorized` telling the client to register
 * again.
 */
import type { MiddlewareHandler } from 'hono';
import { verifyInstallToken } from '../auth/install-token';
import type { AppEnv, AppServices } from './context';
import { HttpError } from './errors';

const REGISTER_AGAIN =
  'Register again with POST /v1/installs and send the new token as Authorization: Bearer <token>.';

/** Reads the bearer token of a request, or undefined when there is none. */
export function readBearerToken(
  header: string | undefined,
): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}

/** Creates the middleware that sets `installId` or rejects the request. */
export function createAuthenticate(
  services: AppServices,
): MiddlewareHandler<AppEnv> {
  return async (context, next) => {
    const token = readBearerToken(context.req.header('authorization'));
    if (token === undefined) {
      throw unauthorized('The request has no install token.');
    }

    const check = verifyInstallToken(
      token,
      services.installSecret,
      services.now(),
    );
    if (!check.ok) {
      const messages = {
        malformed: 'The install token is malformed.',
        forged: 'The install token has an invalid signature.',
        expired: `The install token expired at ${check.claims?.expiresAt.toISOString()}.`,
      };
      services.logger.info(
        {
          requestId: context.get('requestId'),
          installId: check.claims?.installId,
          reason: check.reason,
        },
        'install token rejected',
      );
      throw unauthorized(messages[check.reason]);
    }

    const install = await services.store.getInstall(check.claims.installId);
    if (!install || install.revoked) {
      services.logger.info(
        {
          requestId: context.get('requestId'),
          installId: check.claims.installId,
          reason: install ? 'revoked' : 'unknown_install',
        },
        'install token rejected',
      );
      throw unauthorized(
        install
          ? 'This install was revoked.'
          : 'This install is not registered with this backend.',
      );
    }

    context.set('installId', install.id);
    context.set('installPlan', install.plan);
    await next();
  };
}

function unauthorized(sentence: string): HttpError {
  return new HttpError({
    status: 401,
    code: 'unauthorized',
    message: `${sentence} ${REGISTER_AGAIN}`,
  });
}
