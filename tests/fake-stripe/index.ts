/**
 * A fake Stripe API for tests: a real HTTP server on 127.0.0.1 that the
 * Stripe SDK reaches through its `host`, `port` and `protocol: 'http'`
 * options. It records every request with its decoded form body, answers
 * `POST /v1/checkout/sessions` like Stripe (validating the fields Stripe
 * requires for a subscription checkout), and serves a page at each
 * session's `url`, so a browser test can open it.
 */
import { randomBytes } from 'node:crypto';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeStripeForm, type FormObject } from './form';

export { decodeStripeForm } from './form';
export * from './events';

/** One request the fake received. */
export interface FakeStripeRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The raw body. */
  text: string;
  /** The body decoded from the form encoding; empty for other bodies. */
  form: FormObject;
}

/** A checkout session as the fake created it. */
export interface FakeCheckoutSession {
  id: string;
  object: 'checkout.session';
  mode: string;
  url: string;
  status: 'open';
  payment_status: 'unpaid';
  client_reference_id: string | null;
  metadata: Record<string, string>;
  success_url: string;
  cancel_url: string;
  /** The price of the first line item. */
  price: string;
  /** The subscription's metadata, from `subscription_data[metadata]`. */
  subscriptionMetadata: Record<string, string>;
}

export interface FakeStripe {
  /** `http://127.0.0.1:PORT`, for TOKENWISE_STRIPE_API_BASE. */
  baseUrl: string;
  port: number;
  requests: FakeStripeRequest[];
  sessions: FakeCheckoutSession[];
  /** Answers the next API request with this status and a Stripe error. */
  failNext(status: number, message?: string): void;
  close(): Promise<void>;
}

const SECRET_KEY_PATTERN = /^Bearer (sk|rk)_(test|live)_\S+$/;

/** Starts the fake on 127.0.0.1 at a free port. */
export async function startFakeStripe(): Promise<FakeStripe> {
  const requests: FakeStripeRequest[] = [];
  const sessions: FakeCheckoutSession[] = [];
  const failures: Array<{ status: number; message: string }> = [];
  let baseUrl = '';

  const server = createServer((request, response) => {
    readBody(request)
      .then((text) => {
        const path = (request.url ?? '/').split('?')[0] ?? '/';
        const isForm = (request.headers['content-type'] ?? '').startsWith(
          'application/x-www-form-urlencoded',
        );
        const recorded: FakeStripeRequest = {
          method: request.method ?? 'GET',
          path,
          headers: request.headers,
          text,
          form: isForm ? decodeStripeForm(text) : {},
        };

        if (recorded.method === 'GET' && path.startsWith('/pay/')) {
          sendCheckoutPage(response, path.slice('/pay/'.length), sessions);
          return;
        }
        requests.push(recorded);
        const failure = failures.shift();
        if (failure) {
          sendError(response, failure.status, 'api_error', failure.message);
          return;
        }
        if (!SECRET_KEY_PATTERN.test(request.headers.authorization ?? '')) {
          sendError(
            response,
            401,
            'invalid_request_error',
            'Invalid API Key provided.',
          );
          return;
        }
        if (recorded.method === 'POST' && path === '/v1/checkout/sessions') {
          createSession(response, recorded.form, baseUrl, sessions);
          return;
        }
        sendError(
          response,
          404,
          'invalid_request_error',
          `Unrecognized request URL (${recorded.method}: ${path}).`,
        );
      })
      .catch(() => {
        response.destroy();
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  baseUrl = `http://127.0.0.1:${port}`;

  return {
    baseUrl,
    port,
    requests,
    sessions,
    failNext(status, message = 'The fake Stripe failed on purpose.') {
      failures.push({ status, message });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function createSession(
  response: ServerResponse,
  form: FormObject,
  baseUrl: string,
  sessions: FakeCheckoutSession[],
): void {
  const lineItems = Array.isArray(form.line_items) ? form.line_items : [];
  const first = lineItems[0];
  const price =
    first !== undefined && typeof first === 'object' && !Array.isArray(first)
      ? first.price
      : undefined;
  const required: Array<[string, unknown]> = [
    ['mode', form.mode],
    ['line_items[0][price]', price],
    ['success_url', form.success_url],
    ['cancel_url', form.cancel_url],
  ];
  const missing = required.find(([, value]) => typeof value !== 'string');
  if (missing) {
    sendError(
      response,
      400,
      'invalid_request_error',
      `Missing required param: ${missing[0]}.`,
      missing[0],
    );
    return;
  }

  const id = `cs_test_${randomBytes(12).toString('hex')}`;
  const subscriptionData = asObject(form.subscription_data);
  const session: FakeCheckoutSession = {
    id,
    object: 'checkout.session',
    mode: form.mode as string,
    url: `${baseUrl}/pay/${id}`,
    status: 'open',
    payment_status: 'unpaid',
    client_reference_id:
      typeof form.client_reference_id === 'string'
        ? form.client_reference_id
        : null,
    metadata: asStrings(form.metadata),
    success_url: form.success_url as string,
    cancel_url: form.cancel_url as string,
    price: price as string,
    subscriptionMetadata: asStrings(subscriptionData.metadata),
  };
  sessions.push(session);
  const { price: _price, subscriptionMetadata: _metadata, ...body } = session;
  sendJson(response, 200, body);
}

function sendCheckoutPage(
  response: ServerResponse,
  id: string,
  sessions: FakeCheckoutSession[],
): void {
  const session = sessions.find((candidate) => candidate.id === id);
  response.writeHead(session ? 200 : 404, {
    'content-type': 'text/html; charset=utf-8',
  });
  response.end(
    `<!doctype html><title>Fake Stripe Checkout</title><h1 data-session="${session?.id ?? ''}">${session ? `Pay for ${session.price}` : 'No such session'}</h1>`,
  );
}

function asObject(value: unknown): FormObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as FormObject)
    : {};
}

function asStrings(value: unknown): Record<string, string> {
  const strings: Record<string, string> = {};
  for (const [key, entry] of Object.entries(asObject(value))) {
    if (typeof entry === 'string') {
      strings[key] = entry;
    }
  }
  return strings;
}

function sendError(
  response: ServerResponse,
  status: number,
  type: string,
  message: string,
  param?: string,
): void {
  sendJson(response, status, { error: { type, message, param } });
}

function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
): void {
  response.writeHead(status, {
    'content-type': 'application/json',
    'request-id': `req_${randomBytes(8).toString('hex')}`,
  });
  response.end(JSON.stringify(body));
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}
