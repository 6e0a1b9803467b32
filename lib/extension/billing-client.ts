/**
 * The extension's side of paid plans: the backend's plan list, the plan
 * that comes after the current one, and the Stripe Checkout page for it.
 * The popup and side panel call these directly, with the install token
 * the background stored, because they open the checkout tab themselves.
 */
import {
  checkoutResponseSchema,
  errorBodySchema,
  plansResponseSchema,
  type CheckoutResponse,
  type PlansResponse,
  type PublicPlan,
} from '../protocol';
import { BackendClient } from './backend-client';

/** A plan list or checkout request that failed; the message is a sentence. */
export class BillingRequestError extends Error {
  readonly status: number | undefined;

  constructor(message: string, options: { status?: number; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.name = 'BillingRequestError';
    this.status = options.status;
  }
}

export interface BillingClientOptions {
  /** Backend URL without a trailing slash. */
  backendUrl: string;
  fetch?: typeof fetch;
}

/**
 * Fetches `GET /v1/plans`. Throws BillingRequestError when the backend
 * cannot be reached or its response is not the plan list.
 */
export async function fetchPlans(
  options: BillingClientOptions,
): Promise<PlansResponse> {
  const fetchFunction = options.fetch ?? ((...args) => fetch(...args));
  const url = `${options.backendUrl}/v1/plans`;
  let response: Response;
  try {
    response = await fetchFunction(url);
  } catch (error) {
    throw new BillingRequestError(
      `GET ${url} failed: ${(error as Error).message}.`,
      { cause: error },
    );
  }
  return readJson(response, plansResponseSchema, `GET ${url}`);
}

/**
 * Asks `POST /v1/billing/checkout` for a Stripe Checkout page for `plan`
 * (the next plan up when omitted). Registers again once when the backend
 * rejects the install token. Throws BillingRequestError with the
 * backend's sentence when it refuses.
 */
export async function requestCheckout(
  options: BillingClientOptions & { plan?: string },
): Promise<CheckoutResponse> {
  const client = new BackendClient({
    baseUrl: options.backendUrl,
    fetch: options.fetch,
  });
  const fetchFunction = options.fetch ?? ((...args) => fetch(...args));
  const url = `${options.backendUrl}/v1/billing/checkout`;
  const send = (token: string) =>
    fetchFunction(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${token}`,
      },
      body: JSON.stringify(
        options.plan === undefined ? {} : { plan: options.plan },
      ),
    });

  try {
    let response = await send((await client.ensureInstall()).token);
    if (response.status === 401) {
      await response.body?.cancel();
      response = await send((await client.register()).token);
    }
    return await readJson(response, checkoutResponseSchema, `POST ${url}`);
  } catch (error) {
    if (error instanceof BillingRequestError) {
      throw error;
    }
    throw new BillingRequestError(
      `POST ${url} failed: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/**
 * Returns the plan the upgrade button sells: the first one for sale with
 * a larger allowance than the current plan, or undefined when there is
 * none (or the current plan is not in the list).
 */
export function findNextPlan(
  plans: readonly PublicPlan[],
  currentPlan: string,
): PublicPlan | undefined {
  const current = plans.find((plan) => plan.name === currentPlan);
  if (current === undefined) {
    return undefined;
  }
  return plans.find(
    (plan) =>
      plan.purchasable && plan.allowanceTokens > current.allowanceTokens,
  );
}

async function readJson<T>(
  response: Response,
  schema: {
    safeParse(value: unknown): { success: true; data: T } | { success: false };
  },
  endpoint: string,
): Promise<T> {
  let payload: unknown;
  try {
    payload = await response.json();
  } catch (error) {
    throw new BillingRequestError(
      `${endpoint} responded ${response.status} with a body that is not JSON.`,
      { status: response.status, cause: error },
    );
  }
  if (!response.ok) {
    const parsed = errorBodySchema.safeParse(payload);
    throw new BillingRequestError(
      parsed.success
        ? parsed.data.error.message
        : `${endpoint} responded ${response.status}.`,
      { status: response.status },
    );
  }
  const parsed = schema.safeParse(payload);
  if (!parsed.success) {
    throw new BillingRequestError(
      `${endpoint} responded with a body that does not match the protocol.`,
      { status: response.status },
    );
  }
  return parsed.data;
}
