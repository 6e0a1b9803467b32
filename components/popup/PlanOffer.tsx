import { useEffect, useState } from 'react';
import { browser } from 'wxt/browser';
import type { PlansResponse } from '@/lib/protocol';
import {
  fetchPlans,
  findNextPlan,
  requestCheckout,
} from '@/lib/extension/billing-client';
import {
  describeCheckoutButton,
  describeNextPlan,
  describePlanIncludes,
} from '@/lib/extension/billing-text';
import { UPGRADE_URL } from '@/lib/extension/config';
import { debugLog } from '@/lib/extension/debug-log';
import { t } from '@/lib/extension/i18n';
import type { UsageLevel } from '@/lib/extension/usage-snapshot';

export type CheckoutState =
  | { kind: 'idle' }
  | { kind: 'opening' }
  | { kind: 'opened' }
  | { kind: 'failed'; message: string };

/**
 * Renders what the current plan includes and what the next plan adds,
 * with a button that opens the next plan's Stripe Checkout in a new tab.
 * Without paid plans on the backend, the build's upgrade page
 * (WXT_UPGRADE_URL) is offered instead once the allowance runs low.
 */
export function PlanOffer({
  backendUrl,
  currentPlan,
  level,
  remaining,
}: {
  backendUrl: string;
  currentPlan: string;
  level: UsageLevel;
  remaining: number;
}) {
  const plans = usePlans(backendUrl);
  const [checkout, openCheckout] = useCheckout(backendUrl);
  const current = plans?.plans.find((plan) => plan.name === currentPlan);
  const next =
    plans?.billingEnabled === true
      ? findNextPlan(plans.plans, currentPlan)
      : undefined;
  const lowSentence =
    level === 'ok'
      ? undefined
      : remaining === 0
        ? t('upgradeGone')
        : t('upgradeLow');

  return (
    <section className="hud__plan-offer" data-testid="plan-offer">
      {current && (
        <p className="hud__plan-includes" data-testid="plan-includes">
          {describePlanIncludes(current).join(' ')}
        </p>
      )}
      {next && (
        <>
          <p
            className="hud__next-plan"
            data-testid="next-plan"
            data-plan={next.name}
          >
            {lowSentence && `${lowSentence} `}
            {describeNextPlan(next)}
          </p>
          <button
            type="button"
            className="primary"
            data-testid="checkout"
            disabled={checkout.kind === 'opening'}
            onClick={() => openCheckout(next.name)}
          >
            {checkout.kind === 'opening'
              ? t('checkoutOpening')
              : describeCheckoutButton(next)}
          </button>
          {checkout.kind === 'opened' && (
            <p className="hud__checkout-note" data-testid="checkout-opened">
              {t('checkoutOpened')}
            </p>
          )}
          {checkout.kind === 'failed' && (
            <p
              className="hud__checkout-note hud__checkout-note--failed"
              role="alert"
              data-testid="checkout-problem"
            >
              {t('checkoutFailed', checkout.message)}
            </p>
          )}
        </>
      )}
      {!next && UPGRADE_URL && lowSentence && (
        <p className="hud__upgrade">
          {lowSentence}{' '}
          <a
            className="button primary"
            href={UPGRADE_URL}
            target="_blank"
            rel="noopener noreferrer"
            data-testid="upgrade"
          >
            {t('upgrade')}
          </a>
        </p>
      )}
    </section>
  );
}

/**
 * Returns the checkout state and a function that requests a plan's Stripe
 * Checkout page from the backend and opens it in a new tab.
 */
export function useCheckout(
  backendUrl: string,
): [CheckoutState, (plan: string) => void] {
  const [checkout, setCheckout] = useState<CheckoutState>({ kind: 'idle' });
  const openCheckout = (plan: string) => {
    setCheckout({ kind: 'opening' });
    requestCheckout({ backendUrl, plan })
      .then((session) => browser.tabs.create({ url: session.url }))
      .then(() => setCheckout({ kind: 'opened' }))
      .catch((error: unknown) =>
        setCheckout({
          kind: 'failed',
          message: error instanceof Error ? error.message : String(error),
        }),
      );
  };
  return [checkout, openCheckout];
}

/** Fetches the backend's plan list once per backend; undefined until it arrives or when it fails. */
export function usePlans(backendUrl: string): PlansResponse | undefined {
  const [plans, setPlans] = useState<PlansResponse | undefined>();
  useEffect(() => {
    let active = true;
    fetchPlans({ backendUrl })
      .then((response) => active && setPlans(response))
      .catch((error: unknown) =>
        debugLog('popup', 'reading the plans failed', {
          error: String(error),
        }),
      );
    return () => {
      active = false;
    };
  }, [backendUrl]);
  return plans;
}
