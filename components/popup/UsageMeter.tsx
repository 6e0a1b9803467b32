import { classifyRemaining } from '@/lib/extension/usage-snapshot';
import { t } from '@/lib/extension/i18n';
import { formatTokens } from '../format';

/**
 * Renders a bar of the tokens left of the allowance, with the meter role for
 * assistive technology. It turns amber below 25% and red below 10%.
 */
export function UsageMeter({
  remaining,
  allowance,
}: {
  remaining: number;
  allowance: number;
}) {
  const level = classifyRemaining(remaining, allowance);
  const percent =
    allowance > 0
      ? Math.min(100, Math.max(0, (remaining / allowance) * 100))
      : 0;

  return (
    <div
      className={`meter meter--${level}`}
      role="meter"
      data-testid="meter"
      data-level={level}
      aria-label={t('meterLabel')}
      aria-valuemin={0}
      aria-valuemax={allowance}
      aria-valuenow={remaining}
      aria-valuetext={t(
        'meterValueText',
        formatTokens(remaining),
        formatTokens(allowance),
      )}
    >
      <div className="meter__fill" style={{ width: `${percent}%` }} />
    </div>
  );
}
