import { useState } from 'react';
import { browser } from 'wxt/browser';
import { BackendClient } from '@/lib/extension/backend-client';
import { isBackendError } from '@/lib/extension/backend-error';
import type { TokenwiseDatabase } from '@/lib/extension/database';
import { t } from '@/lib/extension/i18n';
import { deleteAllData } from '@/lib/extension/local-data';

/**
 * Renders "Data on the server": a link to the backend's privacy policy,
 * and "Delete my data on the server" with a confirm step that states
 * what is deleted, what stays and what happens next.
 */
export function ServerDataSection({
  database,
  backendUrl,
  setStatus,
  onDeleted,
}: {
  database: TokenwiseDatabase;
  /** The backend this extension talks to, without a trailing slash. */
  backendUrl: string;
  setStatus: (status: string) => void;
  /** Runs after local data was deleted, so the page can refresh its figures. */
  onDeleted: () => void;
}) {
  const [confirming, setConfirming] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const host = new URL(backendUrl).host;

  const deleteEverything = async () => {
    setDeleting(true);
    setStatus(t('deleting'));
    const client = new BackendClient({
      baseUrl: backendUrl,
      extensionVersion: browser.runtime.getManifest().version,
      browserName: import.meta.env.BROWSER,
    });
    try {
      const deletion = await deleteAllData({ database, client });
      onDeleted();
      if (deletion.server === undefined) {
        setStatus(t('serverDataNone', host));
      } else if (deletion.registrationError !== undefined) {
        setStatus(
          t(
            'serverDataDeletedRegisterLater',
            deletion.server.cacheEntriesDeleted,
            deletion.registrationError,
          ),
        );
      } else {
        setStatus(t('serverDataDeleted', deletion.server.cacheEntriesDeleted));
      }
    } catch (error) {
      const reason = isBackendError(error) ? error.message : String(error);
      setStatus(t('serverDataDeleteFailed', reason));
    } finally {
      setDeleting(false);
      setConfirming(false);
    }
  };

  return (
    <section>
      <h2>{t('serverDataHeading')}</h2>
      <p>{t('serverDataExplanation', host)}</p>
      <p>
        <a
          href={`${backendUrl}/privacy`}
          target="_blank"
          rel="noreferrer"
          data-testid="privacy-policy-link"
        >
          {t('privacyPolicyLink')}
        </a>
      </p>
      {confirming ? (
        <div className="options__confirm" role="alertdialog">
          <p data-testid="delete-server-data-warning">
            {t('deleteServerDataConfirm', host)}
          </p>
          <div className="options__buttons">
            <button
              type="button"
              className="danger"
              data-testid="confirm-delete-server-data"
              disabled={deleting}
              onClick={() => void deleteEverything()}
            >
              {t('deleteServerDataConfirmButton')}
            </button>
            <button
              type="button"
              data-testid="cancel-delete-server-data"
              disabled={deleting}
              onClick={() => setConfirming(false)}
            >
              {t('cancel')}
            </button>
          </div>
        </div>
      ) : (
        <button
          type="button"
          className="danger"
          data-testid="delete-server-data"
          onClick={() => setConfirming(true)}
        >
          {t('deleteServerData')}
        </button>
      )}
    </section>
  );
}
