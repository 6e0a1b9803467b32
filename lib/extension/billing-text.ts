/**
 * Sentences that describe what a plan includes and what the next plan
 * adds, shared by the popup and the side panel.
 */
import type { PublicPlan } from '../protocol';
import { t } from './i18n';

const tokenFormat = new Intl.NumberFormat(undefined);

/** Describes what the current plan includes: allowance, rate and premium share. */
export function describePlanIncludes(plan: PublicPlan): string[] {
  return [
    t(
      'planIncludes',
      plan.name,
      tokenFormat.format(plan.allowanceTokens),
      tokenFormat.format(plan.requestsPerMinute),
    ),
    plan.premiumAllowanceTokens === null
      ? t('planPremiumUnlimited')
      : t(
          'planPremiumLimited',
          tokenFormat.format(plan.premiumAllowanceTokens),
        ),
  ];
}

/** Describes what the next plan adds over the current one. */
export function describeNextPlan(next: PublicPlan): string {
  const premium =
    next.premiumAllowanceTokens === null
      ? t('nextPlanPremiumUnlimited')
      : t(
          'nextPlanPremiumLimited',
          tokenFormat.format(next.premiumAllowanceTokens),
        );
  return `${t(
    'nextPlanAdds',
    next.name,
    tokenFormat.format(next.allowanceTokens),
    tokenFormat.format(next.requestsPerMinute),
  )} ${premium}`;
}

/** Builds the label of the button that buys `next`, with its price when known. */
export function describeCheckoutButton(next: PublicPlan): string {
  return next.priceLabel === null
    ? t('checkoutButton', next.name)
    : t('checkoutButtonPrice', next.name, next.priceLabel);
}
