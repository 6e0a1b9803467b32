/**
 * Reading Stripe event objects across API versions: where an invoice
 * names its subscription and price moved between versions, and ids may
 * arrive expanded into objects.
 */
import { describe, expect, it } from 'vitest';
import {
  checkoutSessionSchema,
  invoiceSchema,
  readInvoiceSubscription,
} from '../../server/billing/stripe-events';

describe('readInvoiceSubscription', () => {
  it.each([
    {
      case: 'the current shape',
      invoice: {
        id: 'in_1',
        customer: 'cus_1',
        parent: {
          subscription_details: {
            subscription: 'sub_1',
            metadata: { tokenwise_install_id: 'install-1' },
          },
        },
        lines: {
          data: [
            {
              period: { end: 1_800_000_000 },
              pricing: { price_details: { price: 'price_pro' } },
            },
          ],
        },
      },
      expected: {
        subscriptionId: 'sub_1',
        priceId: 'price_pro',
        periodEnd: new Date(1_800_000_000_000),
        metadata: { tokenwise_install_id: 'install-1' },
      },
    },
    {
      case: 'an older shape with expanded ids',
      invoice: {
        id: 'in_2',
        customer: { id: 'cus_2' },
        subscription: { id: 'sub_2' },
        lines: {
          data: [
            { period: { end: 1_700_000_000 }, price: { id: 'price_old' } },
            { period: { end: 1_700_086_400 }, price: { id: 'price_old' } },
          ],
        },
      },
      expected: {
        subscriptionId: 'sub_2',
        priceId: 'price_old',
        periodEnd: new Date(1_700_086_400_000),
        metadata: {},
      },
    },
    {
      case: 'an invoice of no subscription',
      invoice: { id: 'in_3', customer: 'cus_3', parent: null, lines: null },
      expected: {
        subscriptionId: undefined,
        priceId: undefined,
        periodEnd: undefined,
        metadata: {},
      },
    },
  ])('reads $case', ({ invoice, expected }) => {
    const parsed = invoiceSchema.parse(invoice);

    expect(readInvoiceSubscription(parsed)).toEqual(expected);
  });
});

describe('checkoutSessionSchema', () => {
  it('reads expanded customer and subscription ids', () => {
    const session = checkoutSessionSchema.parse({
      id: 'cs_1',
      customer: { id: 'cus_1', object: 'customer' },
      subscription: { id: 'sub_1', object: 'subscription' },
      metadata: null,
    });

    expect(session.customer).toBe('cus_1');
    expect(session.subscription).toBe('sub_1');
    expect(session.metadata).toEqual({});
  });

  it('rejects a session without an id', () => {
    expect(
      checkoutSessionSchema.safeParse({ mode: 'subscription' }).success,
    ).toBe(false);
  });
});
