import { useEffect, useState } from 'react';
import { browser } from 'wxt/browser';
import { findNextPlan } from '@/lib/extension/billing-client';
import {
  describeCheckoutButton,
  describeNextPlan,
  describePlanIncludes,
} from '@/lib/extension/billing-text';
import { debugLog } from '@/lib/extension/debug-log';
import { t } from '@/lib/extension/i18n';
import { USAGE_STORAGE_KEY } from '@/lib/extension/storage-keys';
import {
  parseUsageSnapshot,
  readUsageSnapshot,
  type UsageSnapshot,
} from '@/lib/extension/usage-snapshot';
import { useCheckout, usePlans } from '../popup/PlanOffer';
import './plan-notice.css';

/**
 * Renders the plan line of the side panel: the current plan, folded open
 * to what it includes (how much may go to the premium model) and what the
 * next plan adds, with its upgrade button when the backend sells it.
 */
export function PlanNotice() {
  const snapshot = useUsageSnapshot();
  const backendUrl = snapshot?.backendUrl ?? '';
  const plans = usePlans(backendUrl);
  const [checkout, openCheckout] = useCheckout(backendUrl);
  const currentName = snapshot?.figures?.plan;
  const current = plans?.plans.find((plan) => plan.name === currentName);
  if (current === undefined || currentName === undefined) {
    return null;
  }
  const next =
    plans?.billingEnabled === true
      ? findNextPlan(plans.plans, currentName)
      : undefined;

  return (
    <details className="plan-notice" data-testid="plan-notice">
      <summary>
        {t('planNoticeLabel')}: {t('planName', current.name)}
      </summary>
      <p data-testid="plan-notice-includes">
        {describePlanIncludes(current).join(' ')}
      </p>
      {next && (
        <>
          <p data-testid="plan-notice-next">{describeNextPlan(next)}</p>
          <button
            type="button"
            className="primary"
            data-testid="plan-notice-checkout"
            disabled={checkout.kind === 'opening'}
            onClick={() => openCheckout(next.name)}
          >
            {checkout.kind === 'opening'
              ? t('checkoutOpening')
              : describeCheckoutButton(next)}
          </button>
          {checkout.kind === 'opened' && <p>{t('checkoutOpened')}</p>}
          {checkout.kind === 'failed' && (
            <p role="alert">{t('checkoutFailed', checkout.message)}</p>
          )}
        </>
      )}
    </details>
  );
}

/** Reads the usage mirror and follows its changes. */
function useUsageSnapshot(): UsageSnapshot | undefined {
  const [snapshot, setSnapshot] = useState<UsageSnapshot | undefined>();
  useEffect(() => {
    let active = true;
    readUsageSnapshot()
      .then((value) => active && setSnapshot(value))
      .catch((error: unknown) =>
        debugLog('panel', 'reading the usage mirror failed', {
          error: String(error),
        }),
      );
    const listener = (
      changes: Record<string, { newValue?: unknown }>,
      areaName: string,
    ) => {
      const change = changes[USAGE_STORAGE_KEY];
      if (active && areaName === 'local' && change) {
        setSnapshot(parseUsageSnapshot(change.newValue));
      }
    };
    browser.storage.onChanged.addListener(listener);
    return () => {
      active = false;
      browser.storage.onChanged.removeListener(listener);
    };
  }, []);
  return snapshot;
}
