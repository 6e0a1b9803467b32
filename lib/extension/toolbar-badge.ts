/** The toolbar badge that warns when little of the allowance remains. */
import { browser } from 'wxt/browser';
import { t } from './i18n';
import { CRITICAL_USAGE_SHARE, type UsageSnapshot } from './usage-snapshot';

/** Badge text and color for a snapshot: a warning below 10% left, else none. */
export function describeBadge(snapshot: UsageSnapshot | undefined): {
  text: string;
  color: string;
  title: string | undefined;
} {
  const figures = snapshot?.figures;
  if (!figures || figures.allowance <= 0) {
    return { text: '', color: '#b42318', title: undefined };
  }
  const share = figures.remaining / figures.allowance;
  if (share >= CRITICAL_USAGE_SHARE) {
    return { text: '', color: '#b42318', title: undefined };
  }
  const percent = Math.floor(share * 100);
  return {
    text: figures.remaining === 0 ? '0' : '!',
    color: '#b42318',
    title: t('badgeTitle', percent),
  };
}

/** Applies the badge for a snapshot to the toolbar button. */
export async function updateToolbarBadge(
  snapshot: UsageSnapshot | undefined,
): Promise<void> {
  const badge = describeBadge(snapshot);
  const action = browser.action ?? browser.browserAction;
  await action.setBadgeText({ text: badge.text });
  if (badge.text !== '') {
    await action.setBadgeBackgroundColor({ color: badge.color });
  }
  await action.setTitle({ title: badge.title ?? t('extensionName') });
}
