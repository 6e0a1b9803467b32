/**
 * Plans the backend defines: the built-in free plan, whose allowance,
 * weight, premium allowance and rate limits come from environment
 * variables, and the plans of TOKENWISE_PLANS_FILE, which may also replace
 * the free plan.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError, type Config } from './config';
import type { Logger } from './logger';
import type { Plan } from './store/types';

/** Plan that new installs start on, and that a cancelled subscription returns to. */
export const FREE_PLAN = 'free';

/** Share of the free allowance that may go to premium when nothing else is set. */
export const DEFAULT_FREE_PREMIUM_SHARE = 0.25;

/**
 * A plan with the terms the backend shows and sells: how much of the
 * allowance may go to the premium tier, and the price a person sees.
 */
export interface PlanTerms extends Plan {
  /**
   * Allowance tokens per period that premium-tier answers may take; once
   * they are used, premium questions go to the cheap tier. Undefined means
   * no limit beyond the allowance itself.
   */
  premiumAllowanceTokens?: number;
  /** Price as shown to people, such as "$5 a month"; Stripe charges the price id's amount. */
  priceLabel?: string;
}

const planSchema = z.strictObject({
  allowanceTokens: z.number().int().nonnegative(),
  premiumWeight: z.number().positive(),
  requestsPerMinute: z.number().int().positive(),
  tokensPerMinute: z.number().int().positive(),
  premiumAllowanceTokens: z
    .union([z.number().int().nonnegative(), z.literal('unlimited')])
    .optional(),
  stripePriceId: z.string().min(1).optional(),
  priceLabel: z.string().min(1).max(40).optional(),
});
const plansFileSchema = z
  .record(
    z
      .string()
      .regex(
        /^[a-z0-9][a-z0-9_-]{0,63}$/,
        'plan names are 1 to 64 lowercase letters, digits, - or _',
      ),
    planSchema,
  )
  .superRefine((plans, context) => {
    const owners = new Map<string, string>();
    for (const [name, plan] of Object.entries(plans)) {
      if (plan.stripePriceId === undefined) {
        continue;
      }
      const owner = owners.get(plan.stripePriceId);
      if (owner !== undefined) {
        context.addIssue({
          code: 'custom',
          path: [name, 'stripePriceId'],
          message: `the price id ${plan.stripePriceId} also sells plan "${owner}"; each price id may sell one plan`,
        });
      }
      owners.set(plan.stripePriceId, name);
    }
    if (plans[FREE_PLAN]?.stripePriceId !== undefined) {
      context.addIssue({
        code: 'custom',
        path: [FREE_PLAN, 'stripePriceId'],
        message:
          'the free plan is not sold, so it must not have a stripePriceId',
      });
    }
  });

const PLANS_FILE_EXAMPLE =
  'Write a JSON object such as {"pro": {"allowanceTokens": 2000000, "premiumWeight": 5, "requestsPerMinute": 60, "tokensPerMinute": 500000, "stripePriceId": "price_123", "priceLabel": "$5 a month"}}; leave out premiumAllowanceTokens, or set it to "unlimited", for no premium limit.';

/**
 * Builds the plans by name: the free plan from the configuration, then the
 * plans file's. Throws ConfigError when the plans file cannot be read or
 * is invalid. Logs a warning through `logger` for each paid plan whose
 * allowance is not larger than the free plan's.
 */
export function createPlans(
  config: Pick<
    Config,
    | 'freeTokens'
    | 'premiumWeight'
    | 'requestsPerMinute'
    | 'tokensPerMinute'
    | 'plansFile'
  > &
    Partial<Pick<Config, 'freePremiumTokens'>>,
  logger?: Logger,
): Record<string, PlanTerms> {
  const plans: Record<string, PlanTerms> = {
    [FREE_PLAN]: {
      name: FREE_PLAN,
      allowanceTokens: config.freeTokens,
      premiumWeight: config.premiumWeight,
      requestsPerMinute: config.requestsPerMinute,
      tokensPerMinute: config.tokensPerMinute,
      ...freePremiumAllowance(config, config.freeTokens),
    },
  };
  if (config.plansFile === undefined) {
    return plans;
  }

  for (const [name, plan] of Object.entries(readPlansFile(config.plansFile))) {
    const { premiumAllowanceTokens, ...terms } = plan;
    plans[name] = { name, ...terms };
    if (typeof premiumAllowanceTokens === 'number') {
      plans[name].premiumAllowanceTokens = premiumAllowanceTokens;
    } else if (name === FREE_PLAN && premiumAllowanceTokens === undefined) {
      // A free entry without a premium limit gets the built-in free plan's
      // default, computed from its own allowance. Only "unlimited" lifts it.
      Object.assign(
        plans[name],
        freePremiumAllowance(config, plan.allowanceTokens),
      );
    }
  }
  warnAboutSmallPaidPlans(plans, logger);
  return plans;
}

/** Logs a warning for each paid plan whose allowance does not exceed the free plan's. */
function warnAboutSmallPaidPlans(
  plans: Readonly<Record<string, PlanTerms>>,
  logger: Logger | undefined,
): void {
  const free = plans[FREE_PLAN];
  if (logger === undefined || free === undefined) {
    return;
  }
  for (const plan of Object.values(plans)) {
    if (
      plan.name === FREE_PLAN ||
      plan.allowanceTokens > free.allowanceTokens
    ) {
      continue;
    }
    logger.warn(
      {
        plan: plan.name,
        allowanceTokens: plan.allowanceTokens,
        freeAllowanceTokens: free.allowanceTokens,
      },
      `plan "${plan.name}" allows ${plan.allowanceTokens} tokens per period, not more than the free plan's ${free.allowanceTokens}. Raise its allowanceTokens in TOKENWISE_PLANS_FILE.`,
    );
  }
}

/** Returns the premium allowance of a plan, or undefined when it has none. */
export function readPremiumAllowance(plan: Plan): number | undefined {
  return (plan as PlanTerms).premiumAllowanceTokens;
}

/** Finds the plan that a Stripe price id sells. */
export function findPlanByPrice(
  plans: Readonly<Record<string, Plan>>,
  priceId: string,
): Plan | undefined {
  return Object.values(plans).find((plan) => plan.stripePriceId === priceId);
}

/**
 * Lists the plans from the smallest allowance to the largest, the free
 * plan first among equals, so "the next plan" is the one after the
 * current.
 */
export function orderPlans(plans: Readonly<Record<string, Plan>>): Plan[] {
  return Object.values(plans).sort(
    (left, right) =>
      left.allowanceTokens - right.allowanceTokens ||
      Number(right.name === FREE_PLAN) - Number(left.name === FREE_PLAN) ||
      left.name.localeCompare(right.name),
  );
}

/**
 * Computes the free plan's premium allowance: TOKENWISE_FREE_PREMIUM_TOKENS
 * when set, else DEFAULT_FREE_PREMIUM_SHARE of `allowanceTokens`.
 */
function freePremiumAllowance(
  config: Partial<Pick<Config, 'freePremiumTokens'>>,
  allowanceTokens: number,
): Pick<PlanTerms, 'premiumAllowanceTokens'> {
  if (config.freePremiumTokens === 'unlimited') {
    return {};
  }
  return {
    premiumAllowanceTokens:
      config.freePremiumTokens ??
      Math.floor(allowanceTokens * DEFAULT_FREE_PREMIUM_SHARE),
  };
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
