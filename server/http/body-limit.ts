/**
 * The request body size limit, checked from the Node request's headers
 * when they state the size.
 */
import type { IncomingMessage } from 'node:http';
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { AppEnv } from './context';

export interface BodyLimitOptions {
  /** Maximum body size accepted, in bytes. */
  maxSize: number;
  /** Builds the response for a body over the limit. */
  onError: (context: Context<AppEnv>) => Response | Promise<Response>;
}

/**
 * Creates a middleware that rejects bodies over `maxSize` bytes with the
 * response of `onError`. A request with a Content-Length and no Transfer-Encoding is
 * judged by that header alone, as Hono's bodyLimit judges it. Any other
 * request, and every request outside @hono/node-server (such as
 * `app.request` in tests), goes through Hono's bodyLimit, which counts
 * the bytes as they stream.
 *
 * Hono's bodyLimit reads `c.req.raw.body` first, which makes
 * @hono/node-server 2 build a full Request with a body stream for every
 * request; the header check avoids that cost on the common path.
 */
export function createBodyLimit(
  options: BodyLimitOptions,
): MiddlewareHandler<AppEnv> {
  const streamingLimit = bodyLimit(options);

  return async (context, next) => {
    const incoming = (context.env as { incoming?: IncomingMessage } | undefined)
      ?.incoming;
    const length = incoming?.headers['content-length'];
    if (
      incoming === undefined ||
      incoming.headers['transfer-encoding'] !== undefined ||
      length === undefined
    ) {
      return streamingLimit(context, next);
    }

    // Node's HTTP parser has already rejected a malformed Content-Length.
    if (Number.parseInt(length, 10) > options.maxSize) {
      return options.onError(context);
    }
    await next();
  };
}
