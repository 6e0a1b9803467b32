/**
 * The parts of Stripe's webhook events that billing reads, as zod schemas.
 * Only the fields used are checked, and each may be absent, because their
 * shape moves between Stripe API versions (an invoice's subscription moved
 * under `parent.subscription_details`, a line's price under `pricing`).
 */
import { z } from 'zod';

/** An id field that Stripe sends as a string, or as the object when expanded. */
const idReference = z
  .union([z.string(), z.object({ id: z.string() })])
  .nullish()
  .transform((value) =>
    value === null || value === undefined
      ? undefined
      : typeof value === 'string'
        ? value
        : value.id,
  );

const metadataSchema = z
  .record(z.string(), z.string())
  .nullish()
  .transform((value) => value ?? {});

/** Metadata that the checkout route puts on the session and subscription. */
export const BILLING_METADATA = {
  installId: 'tokenwise_install_id',
  plan: 'tokenwise_plan',
  priceId: 'tokenwise_price_id',
} as const;

export const checkoutSessionSchema = z.object({
  id: z.string(),
  mode: z.string().nullish(),
  client_reference_id: z.string().nullish(),
  customer: idReference,
  subscription: idReference,
  payment_status: z.string().nullish(),
  metadata: metadataSchema,
});
export type CheckoutSessionFields = z.infer<typeof checkoutSessionSchema>;

const invoiceLineSchema = z.object({
  period: z.object({ end: z.number() }).nullish(),
  price: idReference.optional(),
  pricing: z
    .object({
      price_details: z.object({ price: idReference }).nullish(),
    })
    .nullish(),
});

export const invoiceSchema = z.object({
  id: z.string(),
  customer: idReference,
  /** Where older API versions put the subscription. */
  subscription: idReference.optional(),
  parent: z
    .object({
      subscription_details: z
        .object({
          subscription: idReference,
          metadata: metadataSchema,
        })
        .nullish(),
    })
    .nullish(),
  lines: z.object({ data: z.array(invoiceLineSchema) }).nullish(),
});
export type InvoiceFields = z.infer<typeof invoiceSchema>;

export const subscriptionSchema = z.object({
  id: z.string(),
  status: z.string().nullish(),
  customer: idReference,
  metadata: metadataSchema,
  items: z
    .object({
      data: z.array(z.object({ price: idReference })),
    })
    .nullish(),
});
export type SubscriptionFields = z.infer<typeof subscriptionSchema>;

/** The subscription, price and period an invoice bills. */
export function readInvoiceSubscription(invoice: InvoiceFields): {
  subscriptionId: string | undefined;
  priceId: string | undefined;
  periodEnd: Date | undefined;
  metadata: Record<string, string>;
} {
  const details = invoice.parent?.subscription_details;
  const lines = invoice.lines?.data ?? [];
  const priceId = lines
    .map((line) => line.pricing?.price_details?.price ?? line.price)
    .find((price) => price !== undefined);
  const ends = lines
    .map((line) => line.period?.end)
    .filter((end): end is number => end !== undefined);
  return {
    subscriptionId: details?.subscription ?? invoice.subscription,
    priceId,
    periodEnd: ends.length > 0 ? new Date(Math.max(...ends) * 1000) : undefined,
    metadata: details?.metadata ?? {},
  };
}
