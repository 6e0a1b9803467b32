import type { DailyUsage } from '@/lib/extension/usage-snapshot';
import { t } from '@/lib/extension/i18n';
import { formatTokens } from '../format';

const WIDTH = 280;
const HEIGHT = 96;
const LABEL_HEIGHT = 16;
const GAP = 8;

/**
 * Draws the last days' allowance tokens as stacked bars, cheap below and
 * premium above, in SVG. Screen readers get a summary and a table.
 */
export function UsageChart({ days }: { days: DailyUsage[] }) {
  const totals = days.map((day) => day.cheap + day.premium);
  const maximum = Math.max(1, ...totals);
  const barWidth = (WIDTH - GAP * (days.length - 1)) / days.length;
  const plotHeight = HEIGHT - LABEL_HEIGHT;
  const scale = (tokens: number) => (tokens / maximum) * (plotHeight - 4);
  const weekTotal = totals.reduce((sum, total) => sum + total, 0);

  return (
    <figure className="chart" data-testid="usage-chart">
      <figcaption className="chart__caption">
        {t('chartCaption', formatTokens(weekTotal))}
      </figcaption>
      <svg
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        width="100%"
        role="img"
        aria-label={t('chartLabel', formatTokens(weekTotal))}
      >
        {days.map((day, index) => {
          const x = index * (barWidth + GAP);
          const cheapHeight = scale(day.cheap);
          const premiumHeight = scale(day.premium);
          return (
            <g
              key={day.date}
              data-testid="chart-day"
              data-date={day.date}
              data-cheap={day.cheap}
              data-premium={day.premium}
            >
              <title>
                {t(
                  'chartDayTitle',
                  formatDay(day.date),
                  formatTokens(day.cheap),
                  formatTokens(day.premium),
                )}
              </title>
              <rect
                className="chart__bar chart__bar--cheap"
                x={x}
                y={plotHeight - cheapHeight}
                width={barWidth}
                height={cheapHeight}
              />
              <rect
                className="chart__bar chart__bar--premium"
                x={x}
                y={plotHeight - cheapHeight - premiumHeight}
                width={barWidth}
                height={premiumHeight}
              />
              <text
                className="chart__label"
                x={x + barWidth / 2}
                y={HEIGHT - 3}
                textAnchor="middle"
              >
                {formatWeekday(day.date)}
              </text>
            </g>
          );
        })}
        <line
          className="chart__axis"
          x1={0}
          x2={WIDTH}
          y1={plotHeight}
          y2={plotHeight}
        />
      </svg>
      <p className="chart__legend">
        <span className="chart__swatch chart__swatch--cheap" />
        {t('tierCheap')}
        <span className="chart__swatch chart__swatch--premium" />
        {t('tierPremium')}
      </p>
    </figure>
  );
}

function formatWeekday(date: string): string {
  return new Date(`${date}T12:00:00Z`).toLocaleDateString(undefined, {
    weekday: 'narrow',
    timeZone: 'UTC',
  });
}

function formatDay(date: string): string {
  return new Date(`${date}T12:00:00Z`).toLocaleDateString(undefined, {
    weekday: 'short',
    month: 'short',
    day: 'numeric',
    timeZone: 'UTC',
  });
}
