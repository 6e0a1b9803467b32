import { useEffect, useMemo, useState } from 'react';
import { browser } from 'wxt/browser';
import { AnswerCache, type CacheStats } from '@/lib/extension/answer-cache';
import { resolveBackendUrl } from '@/lib/extension/backend-url';
import { BACKEND_URL, normalizeBackendUrl } from '@/lib/extension/config';
import type { TokenwiseDatabase } from '@/lib/extension/database';
import { debugLog, setDebugLogging } from '@/lib/extension/debug-log';
import {
  collectConversations,
  formatConversationsJson,
  formatConversationsMarkdown,
} from '@/lib/extension/export-conversations';
import { t, type MessageName } from '@/lib/extension/i18n';
import { clearLocalData } from '@/lib/extension/local-data';
import { originPattern } from '@/lib/extension/active-tab';
import {
  ROUTING_PREFERENCES,
  readSettings,
  updateSettings,
  type RoutingPreference,
  type Settings,
} from '@/lib/extension/settings';
import { DEBUG_STORAGE_KEY } from '@/lib/extension/storage-keys';
import { formatBytes, formatTokens } from '../format';
import { ServerDataSection } from './ServerDataSection';
import './options-page.css';

const MEGABYTE = 1024 * 1024;

/** Conversation retention choices in days; 0 keeps conversations forever. */
const RETENTION_DAYS = [0, 7, 30, 90, 365];

const ROUTING_LABELS: Record<RoutingPreference, MessageName> = {
  automatic: 'routingAutomatic',
  cheap: 'routingCheap',
  'premium-when-needed': 'routingPremiumWhenNeeded',
};

/**
 * Renders the options page: routing preference, the answer cache, history
 * retention, export, deleting local data and data on the server, the
 * backend URL and debug logs.
 */
export function OptionsPage({ database }: { database: TokenwiseDatabase }) {
  const [settings, setSettings] = useState<Settings | undefined>();
  const [cacheStats, setCacheStats] = useState<CacheStats | undefined>();
  const [status, setStatus] = useState<string | undefined>();
  const [debugEnabled, setDebugEnabled] = useState(false);
  const cache = useMemo(() => new AnswerCache(database), [database]);

  const refreshStats = () => {
    cache
      .stats()
      .then(setCacheStats)
      .catch((error: unknown) =>
        debugLog('options', 'reading cache stats failed', {
          error: String(error),
        }),
      );
  };

  useEffect(() => {
    document.title = t('optionsTitle');
    readSettings()
      .then(setSettings)
      .catch((error: unknown) =>
        debugLog('options', 'reading settings failed', {
          error: String(error),
        }),
      );
    browser.storage.local
      .get(DEBUG_STORAGE_KEY)
      .then((stored) => setDebugEnabled(stored[DEBUG_STORAGE_KEY] === true))
      .catch((error: unknown) =>
        debugLog('options', 'reading the debug flag failed', {
          error: String(error),
        }),
      );
    refreshStats();
    // Runs once: the database prop is the same for the life of the page.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  const change = (update: Partial<Settings>) => {
    // Shown at once; storage catches up a moment later.
    setSettings((current) => (current ? { ...current, ...update } : current));
    updateSettings(update)
      .then((next) => {
        setSettings(next);
        setStatus(t('settingsSaved'));
      })
      .catch((error: unknown) =>
        setStatus(t('settingsSaveFailed', String(error))),
      );
  };

  const clearCache = async () => {
    await cache.clear();
    refreshStats();
    setStatus(t('cacheCleared'));
  };

  const exportConversations = async (format: 'json' | 'markdown') => {
    const conversations = await collectConversations(database);
    const now = new Date();
    const stamp = now.toISOString().slice(0, 10);
    if (format === 'json') {
      download(
        formatConversationsJson(conversations, now),
        `tokenwise-conversations-${stamp}.json`,
        'application/json',
      );
    } else {
      download(
        formatConversationsMarkdown(conversations),
        `tokenwise-conversations-${stamp}.md`,
        'text/markdown',
      );
    }
    setStatus(t('exported', conversations.length));
  };

  const clearAll = async () => {
    setStatus(t('deleting'));
    try {
      await clearLocalData(database);
      refreshStats();
      setStatus(t('localDataDeleted'));
    } catch (error) {
      setStatus(t('localDataDeleteFailed', String(error)));
    }
  };

  const toggleDebug = async (enabled: boolean) => {
    setDebugEnabled(enabled);
    setDebugLogging(enabled);
    await browser.storage.local.set({ [DEBUG_STORAGE_KEY]: enabled });
  };

  if (!settings) {
    return <main className="options">{t('loading')}</main>;
  }

  return (
    <main className="options">
      <h1>{t('optionsTitle')}</h1>
      {status && (
        <p
          className="options__status"
          role="status"
          data-testid="options-status"
        >
          {status}
        </p>
      )}

      <section>
        <h2 id="routing-heading">{t('routingHeading')}</h2>
        <div role="radiogroup" aria-labelledby="routing-heading">
          {ROUTING_PREFERENCES.map((preference) => (
            <label key={preference} className="options__choice">
              <input
                type="radio"
                name="routing"
                value={preference}
                data-testid={`routing-${preference}`}
                checked={settings.routing === preference}
                onChange={() => change({ routing: preference })}
              />{' '}
              {t(ROUTING_LABELS[preference])}
            </label>
          ))}
        </div>
      </section>

      <section>
        <h2>{t('cacheHeading')}</h2>
        <label className="options__choice">
          <input
            type="checkbox"
            data-testid="cache-enabled"
            checked={settings.cacheEnabled}
            onChange={(event) => change({ cacheEnabled: event.target.checked })}
          />{' '}
          {t('cacheEnabled')}
        </label>
        {cacheStats && (
          <dl className="options__stats" data-testid="cache-stats">
            <dt>{t('cacheEntries')}</dt>
            <dd data-testid="cache-entries" data-value={cacheStats.entries}>
              {formatTokens(cacheStats.entries)}
            </dd>
            <dt>{t('cacheSize')}</dt>
            <dd data-testid="cache-size" data-value={cacheStats.bytes}>
              {formatBytes(cacheStats.bytes)}
            </dd>
            <dt>{t('cacheHits')}</dt>
            <dd data-testid="cache-hits" data-value={cacheStats.hits}>
              {formatTokens(cacheStats.hits)}
            </dd>
            <dt>{t('cacheTokensSaved')}</dt>
            <dd
              data-testid="cache-tokens-saved"
              data-value={cacheStats.tokensSaved}
            >
              {formatTokens(cacheStats.tokensSaved)}
            </dd>
          </dl>
        )}
        <label className="options__field">
          {t('cacheMaxAge')}{' '}
          <input
            type="number"
            min={1}
            max={365}
            data-testid="cache-max-age"
            defaultValue={settings.cacheMaxAgeDays}
            onBlur={(event) => {
              const days = Number(event.target.value);
              if (days >= 1 && days <= 365) {
                change({ cacheMaxAgeDays: days });
              }
            }}
          />
        </label>
        <label className="options__field">
          {t('cacheMaxSize')}{' '}
          <input
            type="number"
            min={1}
            max={1024}
            data-testid="cache-max-size"
            defaultValue={Math.round(settings.cacheMaxBytes / MEGABYTE)}
            onBlur={(event) => {
              const megabytes = Number(event.target.value);
              if (megabytes >= 1 && megabytes <= 1024) {
                change({ cacheMaxBytes: Math.round(megabytes * MEGABYTE) });
              }
            }}
          />
        </label>
        <button
          type="button"
          data-testid="clear-cache"
          onClick={() => void clearCache()}
        >
          {t('clearCache')}
        </button>
      </section>

      <section>
        <h2>{t('historyHeading')}</h2>
        <label className="options__field">
          {t('historyRetention')}{' '}
          <select
            data-testid="history-retention"
            value={settings.historyRetentionDays}
            onChange={(event) =>
              change({ historyRetentionDays: Number(event.target.value) })
            }
          >
            {RETENTION_DAYS.map((days) => (
              <option key={days} value={days}>
                {days === 0 ? t('retentionForever') : t('retentionDays', days)}
              </option>
            ))}
          </select>
        </label>
        <div className="options__buttons">
          <button
            type="button"
            data-testid="export-json"
            onClick={() => void exportConversations('json')}
          >
            {t('exportJson')}
          </button>
          <button
            type="button"
            data-testid="export-markdown"
            onClick={() => void exportConversations('markdown')}
          >
            {t('exportMarkdown')}
          </button>
        </div>
      </section>

      <section>
        <h2>{t('localDataHeading')}</h2>
        <p>{t('localDataExplanation')}</p>
        <button
          type="button"
          className="danger"
          data-testid="clear-local-data"
          onClick={() => void clearAll()}
        >
          {t('deleteLocalData')}
        </button>
      </section>

      <ServerDataSection
        database={database}
        backendUrl={resolveBackendUrl(settings)}
        setStatus={setStatus}
        onDeleted={refreshStats}
      />

      <BackendSection
        settings={settings}
        onChange={change}
        setStatus={setStatus}
      />

      <section>
        <h2>{t('troubleshootingHeading')}</h2>
        <label className="options__choice">
          <input
            type="checkbox"
            data-testid="debug-logging"
            checked={debugEnabled}
            onChange={(event) => void toggleDebug(event.target.checked)}
          />{' '}
          {t('debugLogging')}
        </label>
      </section>
    </main>
  );
}

function BackendSection({
  settings,
  onChange,
  setStatus,
}: {
  settings: Settings;
  onChange: (update: Partial<Settings>) => void;
  setStatus: (status: string) => void;
}) {
  const [draft, setDraft] = useState(settings.backendUrl ?? '');
  const current = resolveBackendUrl(settings);

  const save = () => {
    let url: string;
    try {
      url = normalizeBackendUrl(draft.trim());
    } catch (error) {
      setStatus(
        t('backendUrlInvalid', draft, String((error as Error).message)),
      );
      return;
    }
    // The permission request runs first, inside the click's user gesture.
    browser.permissions
      .request({ origins: [originPattern(url)] })
      .then((granted) => {
        if (granted) {
          onChange({ backendUrl: url });
        } else {
          setStatus(t('backendPermissionDenied', new URL(url).host));
        }
      })
      .catch((error: unknown) =>
        setStatus(t('backendPermissionFailed', String(error))),
      );
  };

  return (
    <section>
      <h2>{t('backendHeading')}</h2>
      <p>
        {t('backendCurrent')} <code data-testid="backend-url">{current}</code>
      </p>
      <p>{t('backendExplanation', BACKEND_URL)}</p>
      <div className="options__buttons">
        <input
          type="url"
          className="options__url"
          data-testid="backend-url-input"
          aria-label={t('backendUrlLabel')}
          placeholder={BACKEND_URL}
          value={draft}
          onChange={(event) => setDraft(event.target.value)}
        />
        <button type="button" data-testid="save-backend-url" onClick={save}>
          {t('save')}
        </button>
        {settings.backendUrl && (
          <button
            type="button"
            data-testid="reset-backend-url"
            onClick={() => {
              setDraft('');
              onChange({ backendUrl: undefined });
            }}
          >
            {t('useBuildBackend')}
          </button>
        )}
      </div>
    </section>
  );
}

/** Saves text as a file through a temporary link. */
function download(text: string, fileName: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
