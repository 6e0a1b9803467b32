/**
 * The popup's state (a Zustand store without React): the usage mirror,
 * refreshed from the backend when the popup opens and followed live
 * through `storage.onChanged` while an answer streams.
 */
import { browser } from 'wxt/browser';
import { createStore, type StoreApi } from 'zustand/vanilla';
import { debugLog } from './debug-log';
import { t } from './i18n';
import { USAGE_STORAGE_KEY } from './storage-keys';
import {
  parseUsageSnapshot,
  readUsageSnapshot,
  type UsageSnapshot,
} from './usage-snapshot';

/** Maximum wait for the backend's figures before the stored ones show: 3 seconds. */
export const REFRESH_WAIT_MS = 3_000;

export interface UsageState {
  /** `loading` until the refresh ends or the wait runs out. */
  phase: 'loading' | 'ready';
  snapshot: UsageSnapshot | undefined;
  /** Sentence saying why the background could not refresh, when it failed. */
  refreshProblem: string | undefined;
}

export interface UsageActions {
  /**
   * Reads the stored snapshot, requests a refresh from the background and
   * follows the snapshot's changes. Returns a function that stops following.
   */
  start(): () => void;
}

export type UsageStore = StoreApi<UsageState & UsageActions>;

export interface UsageStoreOptions {
  /** Asks the background to fetch the usage; resolves with the new snapshot. */
  refresh: () => Promise<UsageSnapshot>;
  refreshWaitMs?: number;
}

/** Creates the popup's usage store. */
export function createUsageStore(options: UsageStoreOptions): UsageStore {
  const refreshWaitMs = options.refreshWaitMs ?? REFRESH_WAIT_MS;

  return createStore<UsageState & UsageActions>()((set) => ({
    phase: 'loading',
    snapshot: undefined,
    refreshProblem: undefined,

    start() {
      let active = true;
      const listener = (
        changes: Record<string, { newValue?: unknown }>,
        areaName: string,
      ) => {
        const change = changes[USAGE_STORAGE_KEY];
        if (active && areaName === 'local' && change) {
          set({ snapshot: parseUsageSnapshot(change.newValue) });
        }
      };
      browser.storage.onChanged.addListener(listener);

      readUsageSnapshot()
        .then((snapshot) => {
          if (active && snapshot) {
            set((state) => ({ snapshot: state.snapshot ?? snapshot }));
          }
        })
        .catch((error: unknown) => {
          debugLog('usage', 'reading the snapshot failed', {
            error: String(error),
          });
        });

      const timer = setTimeout(() => {
        if (active) {
          set({ phase: 'ready' });
        }
      }, refreshWaitMs);
      options
        .refresh()
        .then((snapshot) => {
          if (active) {
            set({ snapshot, phase: 'ready', refreshProblem: undefined });
          }
        })
        .catch((error: unknown) => {
          if (active) {
            set({
              phase: 'ready',
              refreshProblem: t('backgroundNoAnswer', String(error)),
            });
          }
        })
        .finally(() => clearTimeout(timer));

      return () => {
        active = false;
        clearTimeout(timer);
        browser.storage.onChanged.removeListener(listener);
      };
    },
  }));
}
