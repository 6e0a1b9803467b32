import { useEffect, useState } from 'react';
import { browser } from 'wxt/browser';
import { BACKEND_URL } from '@/lib/extension/config';
import type { TokenwiseDatabase } from '@/lib/extension/database';
import { debugLog, setDebugLogging } from '@/lib/extension/debug-log';
import { clearLocalData } from '@/lib/extension/local-data';
import { DEBUG_STORAGE_KEY } from '@/lib/extension/storage-keys';
import './options-page.css';

/** Renders the options page: the backend this build uses, clearing local data, and debug logs. */
export function OptionsPage({ database }: { database: TokenwiseDatabase }) {
  const [clearStatus, setClearStatus] = useState<string | undefined>();
  const [debugEnabled, setDebugEnabled] = useState(false);

  useEffect(() => {
    browser.storage.local
      .get(DEBUG_STORAGE_KEY)
      .then((stored) => setDebugEnabled(stored[DEBUG_STORAGE_KEY] === true))
      .catch((error: unknown) =>
        debugLog('options', 'reading the debug flag failed', {
          error: String(error),
        }),
      );
  }, []);

  const clear = async () => {
    setClearStatus('Deleting…');
    try {
      await clearLocalData(database);
      setClearStatus(
        'Deleted your conversations, cached answers and usage figures.',
      );
    } catch (error) {
      setClearStatus(
        `Deleting failed: ${String(error)}. Reload this page and try again.`,
      );
    }
  };

  const toggleDebug = async (enabled: boolean) => {
    setDebugEnabled(enabled);
    setDebugLogging(enabled);
    await browser.storage.local.set({ [DEBUG_STORAGE_KEY]: enabled });
  };

  return (
    <main className="options">
      <h1>Tokenwise options</h1>

      <section>
        <h2>Server</h2>
        <p>
          This build talks to{' '}
          <code data-testid="backend-url">{BACKEND_URL}</code>. It is set when
          the extension is built, with <code>WXT_BACKEND_URL</code>.
        </p>
      </section>

      <section>
        <h2>Local data</h2>
        <p>
          Deletes the conversations, the cached answers and the usage figures
          stored in this browser. Your registration stays, so your allowance
          carries on.
        </p>
        <button
          type="button"
          data-testid="clear-local-data"
          onClick={() => void clear()}
        >
          Clear local data
        </button>
        {clearStatus && (
          <p role="status" data-testid="clear-status">
            {clearStatus}
          </p>
        )}
      </section>

      <section>
        <h2>Troubleshooting</h2>
        <label>
          <input
            type="checkbox"
            data-testid="debug-logging"
            checked={debugEnabled}
            onChange={(event) => void toggleDebug(event.target.checked)}
          />{' '}
          Write debug logs to the browser console (no questions or answers are
          logged)
        </label>
      </section>
    </main>
  );
}
