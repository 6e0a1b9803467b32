/**
 * Plans the backend defines. Only the free plan exists so far; its
 * allowance and premium weight come from the configuration.
 */
import type { Config } from './config';
import type { Plan } from './store/types';

/** Plan that new installs start on. */
export const FREE_PLAN = 'free';

/** Builds the plans by name from the configuration. */
export function createPlans(
  config: Pick<Config, 'freeTokens' | 'premiumWeight'>,
): Record<string, Plan> {
  return {
    [FREE_PLAN]: {
      name: FREE_PLAN,
      allowanceTokens: config.freeTokens,
      premiumWeight: config.premiumWeight,
    },
  };
}
