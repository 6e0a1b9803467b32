/**
 * Plans the backend defines: the built-in free plan, whose allowance,
 * weight and rate limits come from environment variables, and the plans of
 * TOKENWISE_PLANS_FILE, which may also replace the free plan.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError, type Config } from './config';
import type { Plan } from './store/types';

/** Plan that new installs start on. */
export const FREE_PLAN = 'free';

const planSchema = z.strictObject({
  allowanceTokens: z.number().int().nonnegative(),
  premiumWeight: z.number().positive(),
  requestsPerMinute: z.number().int().positive(),
  tokensPerMinute: z.number().int().positive(),
  stripePriceId: z.string().min(1).optional(),
});
const plansFileSchema = z.record(
  z
    .string()
    .regex(
      /^[a-z0-9][a-z0-9_-]{0,63}$/,
      'plan names are 1 to 64 lowercase letters, digits, - or _',
    ),
  planSchema,
);

const PLANS_FILE_EXAMPLE =
  'Write a JSON object such as {"pro": {"allowanceTokens": 2000000, "premiumWeight": 5, "requestsPerMinute": 60, "tokensPerMinute": 500000, "stripePriceId": "price_123"}}.';

/**
 * Builds the plans by name: the free plan from the configuration, then the
 * plans file's. Throws ConfigError when the plans file cannot be read or
 * is invalid.
 */
export function createPlans(
  config: Pick<
    Config,
    | 'freeTokens'
    | 'premiumWeight'
    | 'requestsPerMinute'
    | 'tokensPerMinute'
    | 'plansFile'
  >,
): Record<string, Plan> {
  const plans: Record<string, Plan> = {
    [FREE_PLAN]: {
      name: FREE_PLAN,
      allowanceTokens: config.freeTokens,
      premiumWeight: config.premiumWeight,
      requestsPerMinute: config.requestsPerMinute,
      tokensPerMinute: config.tokensPerMinute,
    },
  };
  if (config.plansFile === undefined) {
    return plans;
  }

  for (const [name, plan] of Object.entries(readPlansFile(config.plansFile))) {
    plans[name] = { name, ...plan };
  }
  return plans;
}

function readPlansFile(file: string): z.infer<typeof plansFileSchema> {
  let content: unknown;
  try {
    content = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError(
      `TOKENWISE_PLANS_FILE: could not read ${file} as JSON: ${(error as Error).message}. ${PLANS_FILE_EXAMPLE}`,
      { cause: error },
    );
  }

  const result = plansFileSchema.safeParse(content);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue?.path.join('.') || 'the top level';
    throw new ConfigError(
      `TOKENWISE_PLANS_FILE: ${file} is invalid at ${where}: ${issue?.message}. ${PLANS_FILE_EXAMPLE}`,
    );
  }
  return result.data;
}
