import { useEffect, useState } from 'react';
import { useStore } from 'zustand';
import { browser } from 'wxt/browser';
import { debugLog } from '@/lib/extension/debug-log';
import { formatResetTime } from '@/lib/extension/error-messages';
import { openSidePanel } from '@/lib/extension/side-panel';
import type { UsageStore } from '@/lib/extension/usage-store';
import { formatTokens } from '../format';
import { UsageMeter } from './UsageMeter';
import './usage-hud.css';

/** Name of the keyboard command that opens the side panel. */
const OPEN_SIDE_PANEL_COMMAND = 'open-side-panel';

/**
 * Renders the popup, the token HUD: tokens left of the allowance with a meter, used
 * this period and the reset date, live while an answer streams, and a
 * button that opens the side panel.
 */
export function UsageHud({ store }: { store: UsageStore }) {
  const phase = useStore(store, (state) => state.phase);
  const snapshot = useStore(store, (state) => state.snapshot);
  const refreshProblem = useStore(store, (state) => state.refreshProblem);
  const windowId = useCurrentWindowId();
  const shortcut = useCommandShortcut(OPEN_SIDE_PANEL_COMMAND);

  useEffect(() => store.getState().start(), [store]);

  const figures = snapshot?.figures;
  const problem =
    refreshProblem ??
    (snapshot?.status !== 'ok' ? snapshot?.problem : undefined);

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
        <h1>Tokenwise</h1>
        {figures && <span className="hud__plan">{figures.plan} plan</span>}
      </header>

      {problem && phase === 'ready' && (
        <p
          className="hud__problem"
          role="status"
          data-testid="backend-problem"
          data-status={snapshot?.status ?? 'failed'}
        >
          {problem}
          {figures && snapshot?.syncedAt
            ? ` The figures below are from ${formatResetTime(snapshot.syncedAt) ?? snapshot.syncedAt}.`
            : ''}
        </p>
      )}

      {phase === 'loading' && !figures && (
        <p className="hud__loading">Loading…</p>
      )}
      {phase === 'ready' && figures && (
        <section className="hud__figures" aria-label="Token allowance">
          <p className="hud__remaining">
            <span
              className="hud__remaining-value"
              data-testid="remaining"
              data-value={figures.remaining}
            >
              {formatTokens(figures.remaining)}
            </span>{' '}
            tokens left of{' '}
            <span data-testid="allowance" data-value={figures.allowance}>
              {formatTokens(figures.allowance)}
            </span>
          </p>
          <UsageMeter
            remaining={figures.remaining}
            allowance={figures.allowance}
          />
          <dl className="hud__details">
            <dt>Used this period</dt>
            <dd data-testid="used" data-value={figures.used}>
              {formatTokens(figures.used)}
            </dd>
            <dt>Resets</dt>
            <dd data-testid="reset-date">
              {formatResetTime(figures.resetAt) ?? figures.resetAt}
            </dd>
            {figures.premiumWeight !== 1 && (
              <>
                <dt>Premium weight</dt>
                <dd>{figures.premiumWeight}× tokens</dd>
              </>
            )}
          </dl>
          {figures.liveTokens > 0 && (
            <p className="hud__live" data-testid="live-estimate">
              An answer is streaming; the figures are estimates until it ends.
            </p>
          )}
        </section>
      )}
      {phase === 'ready' && !figures && !problem && (
        <p className="hud__loading">
          No usage figures yet. Ask a question in the side panel.
        </p>
      )}

      <footer className="hud__footer">
        <button
          type="button"
          className="primary"
          data-testid="open-side-panel"
          disabled={windowId === undefined}
          onClick={openPanel}
        >
          Open side panel
        </button>
        {shortcut && (
          <span className="hud__shortcut" data-testid="shortcut">
            or press {shortcut}
          </span>
        )}
        {shortcut === '' && (
          <span className="hud__shortcut" data-testid="shortcut">
            No shortcut set; add one in the browser's extension shortcut
            settings.
          </span>
        )}
      </footer>
    </main>
  );
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
