import { useEffect, useState } from 'react';
import { useStore } from 'zustand';
import { browser } from 'wxt/browser';
import { debugLog } from '@/lib/extension/debug-log';
import { formatResetTime } from '@/lib/extension/error-messages';
import { buildWeekSeries, summarizeSavings } from '@/lib/extension/hud-figures';
import { t } from '@/lib/extension/i18n';
import {
  estimateQuestionsLeft,
  readQuestionStats,
  type QuestionStats,
} from '@/lib/extension/question-stats';
import { requestUsageRefresh } from '@/lib/extension/runtime-client';
import { openSidePanel } from '@/lib/extension/side-panel';
import { QUESTION_STATS_STORAGE_KEY } from '@/lib/extension/storage-keys';
import type { UsageStore } from '@/lib/extension/usage-store';
import { classifyRemaining } from '@/lib/extension/usage-snapshot';
import { formatTokens } from '../format';
import { PlanOffer } from './PlanOffer';
import { UsageChart } from './UsageChart';
import { UsageMeter } from './UsageMeter';
import './usage-hud.css';

/**
 * Interval at which the open popup has the background fetch the usage
 * again, so a plan bought in another tab shows within seconds: 3 seconds.
 */
export const USAGE_POLL_MS = 3_000;

/** Name of the keyboard command that opens the side panel. */
const OPEN_SIDE_PANEL_COMMAND = 'open-side-panel';

/**
 * Renders the popup, the token HUD: tokens left with a meter, about how
 * many questions they cover, use this period, the reset date and plan.
 * Below come the cache's and routing's savings, the last 7 days by tier,
 * what the plan includes with the next plan's upgrade button, and a button
 * that opens the side panel. The figures move live while an answer
 * streams, and are asked for again every few seconds while it is open.
 */
export function UsageHud({ store }: { store: UsageStore }) {
  const phase = useStore(store, (state) => state.phase);
  const snapshot = useStore(store, (state) => state.snapshot);
  const refreshProblem = useStore(store, (state) => state.refreshProblem);
  const windowId = useCurrentWindowId();
  const shortcut = useCommandShortcut(OPEN_SIDE_PANEL_COMMAND);
  const questionStats = useQuestionStats();
  // The chart's last day is the day the popup opened.
  const [openedAt] = useState(() => Date.now());

  useEffect(() => store.getState().start(), [store]);
  useUsagePolling();

  const figures = snapshot?.figures;
  const problem =
    refreshProblem ??
    (snapshot?.status !== 'ok' ? snapshot?.problem : undefined);
  const level = figures
    ? classifyRemaining(figures.remaining, figures.allowance)
    : 'ok';

  const openPanel = () => {
    if (windowId === undefined) {
      return;
    }
    // Called before any await: the browser needs the click's user gesture.
    openSidePanel(windowId)
      .then(() => closeIfPopup())
      .catch((error: unknown) =>
        debugLog('popup', 'opening the side panel failed', {
          error: String(error),
        }),
      );
  };

  return (
    <main className="hud">
      <header className="hud__header">
        <h1>{t('extensionName')}</h1>
        {figures && (
          <span className="hud__plan" data-testid="plan">
            {t('planName', figures.plan)}
          </span>
        )}
      </header>

      {problem && phase === 'ready' && (
        <div
          className="hud__problem"
          role="status"
          data-testid="backend-problem"
          data-status={snapshot?.status ?? 'failed'}
        >
          <p className="hud__problem-title">
            {snapshot?.status === 'unreachable'
              ? t('backendUnreachableTitle')
              : t('backendProblemTitle')}
          </p>
          <p>
            {problem}
            {figures && snapshot?.syncedAt
              ? ` ${t('figuresFrom', formatResetTime(snapshot.syncedAt) ?? snapshot.syncedAt)}`
              : ''}
          </p>
        </div>
      )}

      {phase === 'loading' && !figures && (
        <p className="hud__loading">{t('loading')}</p>
      )}
      {phase === 'ready' && figures && (
        <section
          className="hud__figures"
          aria-label={t('allowanceSectionLabel')}
        >
          <p className="hud__remaining">
            <span
              className="hud__remaining-value"
              data-testid="remaining"
              data-value={figures.remaining}
            >
              {formatTokens(figures.remaining)}
            </span>{' '}
            {t('tokensLeftOf')}{' '}
            <span data-testid="allowance" data-value={figures.allowance}>
              {formatTokens(figures.allowance)}
            </span>
          </p>
          <UsageMeter
            remaining={figures.remaining}
            allowance={figures.allowance}
          />
          <QuestionsLeft remaining={figures.remaining} stats={questionStats} />
          <dl className="hud__details">
            <dt>{t('usedThisPeriod')}</dt>
            <dd data-testid="used" data-value={figures.used}>
              {formatTokens(figures.used)}
            </dd>
            <dt>{t('resets')}</dt>
            <dd data-testid="reset-date">
              {formatResetTime(figures.resetAt) ?? figures.resetAt}
            </dd>
            {figures.premiumWeight !== 1 && (
              <>
                <dt>{t('premiumWeight')}</dt>
                <dd>{t('premiumWeightValue', figures.premiumWeight)}</dd>
              </>
            )}
          </dl>
          <Savings
            figures={figures}
            localCacheSaved={questionStats?.cacheSaved ?? 0}
          />
          {figures.liveTokens > 0 && (
            <p className="hud__live" data-testid="live-estimate">
              {t('liveEstimate')}
            </p>
          )}
          <UsageChart days={buildWeekSeries(figures.daily, openedAt)} />
          <PlanOffer
            backendUrl={snapshot?.backendUrl ?? ''}
            currentPlan={figures.plan}
            level={level}
            remaining={figures.remaining}
          />
        </section>
      )}
      {phase === 'ready' && !figures && !problem && (
        <p className="hud__loading">{t('noFiguresYet')}</p>
      )}

      <footer className="hud__footer">
        <button
          type="button"
          className="primary"
          data-testid="open-side-panel"
          disabled={windowId === undefined}
          onClick={openPanel}
        >
          {t('openSidePanel')}
        </button>
        {shortcut && (
          <span className="hud__shortcut" data-testid="shortcut">
            {t('orPress', shortcut)}
          </span>
        )}
        {shortcut === '' && (
          <span className="hud__shortcut" data-testid="shortcut">
            {t('noShortcut')}
          </span>
        )}
      </footer>
    </main>
  );
}

function QuestionsLeft({
  remaining,
  stats,
}: {
  remaining: number;
  stats: QuestionStats | undefined;
}) {
  const estimate = stats ? estimateQuestionsLeft(remaining, stats) : undefined;
  return (
    <p
      className="hud__questions"
      data-testid="questions-left"
      data-value={estimate ?? ''}
    >
      {estimate === undefined
        ? t('questionsLeftUnknown')
        : estimate === 0
          ? t('questionsLeftNone')
          : t(
              'questionsLeft',
              formatTokens(estimate),
              formatTokens(
                Math.round((stats?.charged ?? 0) / (stats?.questions || 1)),
              ),
            )}
    </p>
  );
}

function Savings({
  figures,
  localCacheSaved,
}: {
  figures: Parameters<typeof summarizeSavings>[0];
  localCacheSaved: number;
}) {
  const savings = summarizeSavings(figures, localCacheSaved);
  return (
    <dl className="hud__details hud__savings">
      <dt>{t('savedByCache')}</dt>
      <dd data-testid="saved-cache" data-value={savings.byCache}>
        {t('tokensCount', formatTokens(savings.byCache))}
      </dd>
      <dt>{t('savedByRouting')}</dt>
      <dd data-testid="saved-routing" data-value={savings.byRouting}>
        {t('tokensCountEstimated', formatTokens(savings.byRouting))}
      </dd>
    </dl>
  );
}

/** Asks the background to refresh the figures every USAGE_POLL_MS. */
function useUsagePolling(): void {
  useEffect(() => {
    const timer = setInterval(() => {
      // The store follows the mirror, so the new figures arrive through it.
      requestUsageRefresh().catch((error: unknown) =>
        debugLog('popup', 'refreshing the usage failed', {
          error: String(error),
        }),
      );
    }, USAGE_POLL_MS);
    return () => clearInterval(timer);
  }, []);
}

/** Reads the question counts and follows their changes. */
function useQuestionStats(): QuestionStats | undefined {
  const [stats, setStats] = useState<QuestionStats | undefined>();
  useEffect(() => {
    let active = true;
    const read = () => {
      readQuestionStats()
        .then((value) => active && setStats(value))
        .catch((error: unknown) =>
          debugLog('popup', 'reading question stats failed', {
            error: String(error),
          }),
        );
    };
    const listener = (changes: Record<string, unknown>, areaName: string) => {
      if (areaName === 'local' && QUESTION_STATS_STORAGE_KEY in changes) {
        read();
      }
    };
    read();
    browser.storage.onChanged.addListener(listener);
    return () => {
      active = false;
      browser.storage.onChanged.removeListener(listener);
    };
  }, []);
  return stats;
}

/** Reads the id of the window this page is in, once. */
function useCurrentWindowId(): number | undefined {
  const [windowId, setWindowId] = useState<number | undefined>();
  useEffect(() => {
    browser.windows
      .getCurrent()
      .then((current) => setWindowId(current.id))
      .catch((error: unknown) =>
        debugLog('popup', 'reading the window failed', {
          error: String(error),
        }),
      );
  }, []);
  return windowId;
}

/**
 * Reads the key bound to a command: an empty string when none is bound,
 * and undefined until read or when the browser cannot tell.
 */
function useCommandShortcut(command: string): string | undefined {
  const [shortcut, setShortcut] = useState<string | undefined>();
  useEffect(() => {
    browser.commands
      .getAll()
      .then((commands) =>
        setShortcut(
          commands.find((entry) => entry.name === command)?.shortcut ?? '',
        ),
      )
      .catch((error: unknown) =>
        debugLog('popup', 'reading the shortcuts failed', {
          error: String(error),
        }),
      );
  }, [command]);
  return shortcut;
}

/** Closes the page when it is the toolbar popup, not a tab. */
function closeIfPopup(): void {
  const popups = browser.extension.getViews({ type: 'popup' });
  if (popups.includes(window)) {
    window.close();
  }
}
