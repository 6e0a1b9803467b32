import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fakeBrowser } from 'wxt/testing';
import {
  BillingRequestError,
  fetchPlans,
  findNextPlan,
  requestCheckout,
} from '../../../lib/extension/billing-client';
import {
  describeCheckoutButton,
  describeNextPlan,
  describePlanIncludes,
} from '../../../lib/extension/billing-text';
import { readInstall } from '../../../lib/extension/install-store';
import type { PublicPlan } from '../../../lib/protocol';

function plan(overrides: Partial<PublicPlan> & { name: string }): PublicPlan {
  return {
    allowanceTokens: 1_000,
    premiumWeight: 5,
    premiumAllowanceTokens: null,
    requestsPerMinute: 20,
    tokensPerMinute: 100_000,
    priceLabel: null,
    purchasable: true,
    ...overrides,
  };
}

const FREE = plan({
  name: 'free',
  allowanceTokens: 3_000,
  premiumAllowanceTokens: 600,
  purchasable: false,
});
const PRO = plan({
  name: 'pro',
  allowanceTokens: 2_000_000,
  priceLabel: '$5 a month',
});
const TEAM = plan({ name: 'team', allowanceTokens: 10_000_000 });

describe('findNextPlan', () => {
  it.each([
    {
      case: 'free to pro',
      plans: [FREE, PRO, TEAM],
      current: 'free',
      next: 'pro',
    },
    {
      case: 'pro to team',
      plans: [FREE, PRO, TEAM],
      current: 'pro',
      next: 'team',
    },
    {
      case: 'the largest plan',
      plans: [FREE, PRO, TEAM],
      current: 'team',
      next: undefined,
    },
    {
      case: 'a larger plan not for sale',
      plans: [FREE, { ...PRO, purchasable: false }, TEAM],
      current: 'free',
      next: 'team',
    },
    {
      case: 'an unknown current plan',
      plans: [FREE, PRO],
      current: 'gold',
      next: undefined,
    },
    {
      case: 'a plan of the same size',
      plans: [FREE, plan({ name: 'same', allowanceTokens: 3_000 })],
      current: 'free',
      next: undefined,
    },
  ])('picks $case', ({ plans, current, next }) => {
    expect(findNextPlan(plans, current)?.name).toBe(next);
  });
});

describe('plan sentences', () => {
  it('says what a plan includes and what the next one adds', () => {
    expect(describePlanIncludes(FREE)).toEqual([
      'The free plan gives 3,000 tokens a month, 20 questions a minute.',
      'Up to 600 of them go to the premium model; after that, answers come from the cheap model.',
    ]);
    expect(describePlanIncludes(PRO)[1]).toBe(
      'Hard questions go to the premium model all month.',
    );
    expect(describeNextPlan(PRO)).toBe(
      'The pro plan adds 2,000,000 tokens a month and 20 questions a minute. The premium model without a monthly limit.',
    );
    expect(describeCheckoutButton(PRO)).toBe('Upgrade to pro, $5 a month');
    expect(describeCheckoutButton(TEAM)).toBe('Upgrade to team');
  });
});

interface Step {
  status: number;
  body: unknown;
}

describe('billing requests', () => {
  let server: Server;
  let url: string;
  let checkoutSteps: Step[];
  const seen: Array<{ path: string; authorization?: string; body: string }> =
    [];
  let registrations = 0;

  beforeEach(async () => {
    fakeBrowser.reset();
    seen.length = 0;
    registrations = 0;
    checkoutSteps = [];
    server = createServer((request, response) => {
      readBody(request).then(
        (body) => {
          const path = request.url ?? '';
          seen.push({
            path,
            authorization: request.headers.authorization,
            body,
          });
          response.setHeader('content-type', 'application/json');
          if (path === '/v1/installs') {
            registrations += 1;
            response.statusCode = 201;
            response.end(
              JSON.stringify({
                installId: 'install-1',
                token: `token-${registrations}`,
                expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
              }),
            );
            return;
          }
          if (path === '/v1/plans') {
            response.end(
              JSON.stringify({ billingEnabled: true, plans: [FREE, PRO] }),
            );
            return;
          }
          const step = checkoutSteps.shift() ?? {
            status: 201,
            body: {
              url: 'https://checkout.test/pay/cs_1',
              sessionId: 'cs_1',
              plan: 'pro',
            },
          };
          response.statusCode = step.status;
          response.end(
            typeof step.body === 'string'
              ? step.body
              : JSON.stringify(step.body),
          );
        },
        () => response.destroy(),
      );
    });
    await new Promise<void>((resolve) =>
      server.listen(0, '127.0.0.1', resolve),
    );
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterEach(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('reads the plan list', async () => {
    const plans = await fetchPlans({ backendUrl: url });

    expect(plans.plans.map((entry) => entry.name)).toEqual(['free', 'pro']);
  });

  it('asks for a checkout with the stored token, registering first', async () => {
    const checkout = await requestCheckout({ backendUrl: url, plan: 'pro' });

    expect(checkout.url).toBe('https://checkout.test/pay/cs_1');
    const request = seen.find((entry) => entry.path === '/v1/billing/checkout');
    expect(request?.authorization).toBe('Bearer token-1');
    expect(JSON.parse(request?.body ?? '')).toEqual({ plan: 'pro' });
    expect((await readInstall())?.token).toBe('token-1');
  });

  it('registers again once when the token is rejected', async () => {
    checkoutSteps.push({
      status: 401,
      body: { error: { code: 'unauthorized', message: 'Register again.' } },
    });

    const checkout = await requestCheckout({ backendUrl: url });

    expect(checkout.sessionId).toBe('cs_1');
    const checkouts = seen.filter(
      (entry) => entry.path === '/v1/billing/checkout',
    );
    expect(checkouts.map((entry) => entry.authorization)).toEqual([
      'Bearer token-1',
      'Bearer token-2',
    ]);
    expect(JSON.parse(checkouts[1]?.body ?? '')).toEqual({});
  });

  it.each([
    {
      case: "the backend's sentence",
      step: {
        status: 404,
        body: {
          error: {
            code: 'not_found',
            message: 'Paid plans are off on this backend.',
          },
        },
      },
      message: 'Paid plans are off on this backend.',
    },
    {
      case: 'a body that is not JSON',
      step: { status: 502, body: '<html>bad gateway</html>' },
      message: 'responded 502 with a body that is not JSON',
    },
    {
      case: 'a response off the protocol',
      step: { status: 201, body: { url: 'not a url' } },
      message: 'does not match the protocol',
    },
  ])('fails with $case', async ({ step, message }) => {
    checkoutSteps.push(step);

    const failure = await requestCheckout({ backendUrl: url }).catch(
      (error: unknown) => error,
    );

    expect(failure).toBeInstanceOf(BillingRequestError);
    expect((failure as Error).message).toContain(message);
  });

  it('fails with a sentence when the backend is unreachable', async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    server = createServer();
    server.listen(0, '127.0.0.1');

    const failure = await fetchPlans({ backendUrl: url }).catch(
      (error: unknown) => error,
    );

    expect(failure).toBeInstanceOf(BillingRequestError);
    expect((failure as Error).message).toContain(`GET ${url}/v1/plans failed`);
  });
});

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => resolve(body));
    request.on('error', reject);
  });
}
