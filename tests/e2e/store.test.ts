/**
 * "Delete my data on the server" through the real options page: the
 * confirm step, a backend that is down (nothing is deleted), then the
 * deletion itself. Afterwards the old token is rejected, the server and
 * browser caches are empty, the ledger is kept and a new install works.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Page, Worker } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  REPOSITORY_ROOT,
  startBackend,
  type RunningBackend,
} from '../../scripts/harness/backend';
import {
  askInSidePanel,
  launchExtension,
  openOptions,
  type ExtensionBrowser,
} from '../../scripts/harness/browser';
import { fetchUsage } from '../../scripts/harness/install';
import { INSTALL_STORAGE_KEY } from '../../lib/extension/storage-keys';
import { startFakeProvider, type FakeProvider } from '../fake-provider';

const SCREENSHOTS = join(REPOSITORY_ROOT, 'test-results/screenshots');
const QUESTION = 'What is the capital of Portugal?';

interface StoredInstall {
  installId: string;
  token: string;
}

/** Reads the registration the extension stored, or undefined. */
async function readStoredInstall(
  serviceWorker: Worker,
): Promise<StoredInstall | undefined> {
  return serviceWorker.evaluate(async (key) => {
    const extensionApi = (
      globalThis as unknown as {
        chrome: {
          storage: {
            local: { get(key: string): Promise<Record<string, unknown>> };
          };
        };
      }
    ).chrome;
    const stored = await extensionApi.storage.local.get(key);
    return stored[key] as StoredInstall | undefined;
  }, INSTALL_STORAGE_KEY);
}

/** Counts the rows of an IndexedDB object store of the extension. */
async function countLocalRows(page: Page, storeName: string): Promise<number> {
  return page.evaluate(
    (name) =>
      new Promise<number>((resolve, reject) => {
        const request = indexedDB.open('tokenwise');
        request.onerror = () => reject(request.error);
        request.onsuccess = () => {
          const count = request.result
            .transaction(name)
            .objectStore(name)
            .count();
          count.onerror = () => reject(count.error);
          count.onsuccess = () => {
            request.result.close();
            resolve(count.result);
          };
        };
      }),
    storeName,
  );
}

describe('deleting data from the options page', () => {
  let provider: FakeProvider;
  let backend: RunningBackend;
  let browser: ExtensionBrowser;
  let dataDir: string;

  const startTestBackend = () =>
    startBackend({
      port: inject('backendPort'),
      dataDir,
      logFile: join(REPOSITORY_ROOT, 'test-results/e2e-store-backend.log'),
      env: {
        OPENAI_API_KEY: 'test-openai-key',
        OPENAI_BASE_URL: provider.openaiBaseUrl,
        GEMINI_API_KEY: 'test-gemini-key',
        GEMINI_BASE_URL: provider.geminiBaseUrl,
      },
    });

  const queryDatabase = <Row>(sql: string, ...values: string[]): Row[] => {
    const database = new Database(join(dataDir, 'tokenwise.db'), {
      readonly: true,
    });
    try {
      return database.prepare(sql).all(...values) as Row[];
    } finally {
      database.close();
    }
  };

  beforeAll(async () => {
    provider = await startFakeProvider();
    dataDir = mkdtempSync(join(tmpdir(), 'tokenwise-e2e-store-'));
    backend = await startTestBackend();
    browser = await launchExtension({ extensionDir: inject('extensionDir') });
  });

  afterAll(async () => {
    await browser?.close();
    await backend?.stop();
    await provider?.close();
  });

  it('deletes server and local data after confirming', async () => {
    const panel = await browser.openSidePanel();
    const first = await askInSidePanel(panel, QUESTION);
    expect(first.fromCache).toBe(false);
    const oldInstall = await readStoredInstall(browser.serviceWorker);
    expect(oldInstall).toBeDefined();
    const { installId: oldId, token: oldToken } = oldInstall!;
    const countServerEntries = (installId: string) =>
      queryDatabase<{ count: number }>(
        'SELECT COUNT(*) AS count FROM answer_cache WHERE install_id = ?',
        installId,
      )[0]!.count;
    expect(countServerEntries(oldId)).toBe(1);
    const options = await openOptions(browser);

    // Cancelling the confirm step deletes nothing.
    await options.getByTestId('delete-server-data').click();
    await options.getByTestId('delete-server-data-warning').waitFor();
    const warning = await options
      .getByTestId('delete-server-data-warning')
      .innerText();
    expect(warning).toContain('127.0.0.1');
    expect(warning).toContain('ledger');
    await options.screenshot({
      path: join(SCREENSHOTS, 'options-delete-server-data.png'),
    });
    await options.getByTestId('cancel-delete-server-data').click();
    expect((await fetchUsage(backend.url, oldToken)).installId).toBe(oldId);

    // A backend that is down deletes nothing, here or there.
    await backend.stop();
    await options.getByTestId('delete-server-data').click();
    await options.getByTestId('confirm-delete-server-data').click();
    await expect
      .poll(() => options.getByTestId('options-status').innerText())
      .toMatch(/failed: .*The data in this browser is kept/);
    expect(await countLocalRows(options, 'answers')).toBe(1);
    expect((await readStoredInstall(browser.serviceWorker))?.token).toBe(
      oldToken,
    );
    backend = await startTestBackend();

    await options.getByTestId('delete-server-data').click();
    await options.getByTestId('confirm-delete-server-data').click();

    await expect
      .poll(() => options.getByTestId('options-status').innerText())
      .toMatch(/Deleted your data on the server \(1 cached answers\)/);
    const usage = await fetch(`${backend.url}/v1/usage`, {
      headers: { authorization: `Bearer ${oldToken}` },
    });
    expect(usage.status).toBe(401);
    expect(countServerEntries(oldId)).toBe(0);
    const installRows = queryDatabase<{ revoked: number; deleted_at: number }>(
      'SELECT revoked, deleted_at FROM installs WHERE id = ?',
      oldId,
    );
    expect(installRows[0]?.revoked).toBe(1);
    expect(installRows[0]?.deleted_at).toBeGreaterThan(0);
    const ledger = queryDatabase<Record<string, unknown>>(
      'SELECT * FROM ledger_entries WHERE install_id = ?',
      oldId,
    );
    expect(ledger.length).toBeGreaterThan(0);
    expect(JSON.stringify(ledger)).not.toContain('Portugal');
    expect(await countLocalRows(options, 'answers')).toBe(0);
    expect(await countLocalRows(options, 'messages')).toBe(0);
    const newInstall = await readStoredInstall(browser.serviceWorker);
    expect(newInstall?.installId).toBeDefined();
    expect(newInstall?.installId).not.toBe(oldId);
    expect((await fetchUsage(backend.url, newInstall!.token)).used).toBe(0);

    // The same question now goes to the provider again.
    const callsBefore = provider.requests.length;
    const fresh = await browser.openSidePanel();
    const again = await askInSidePanel(fresh, QUESTION);
    expect(again.fromCache).toBe(false);
    expect(provider.requests.length).toBe(callsBefore + 1);
  });

  it('links to the backend privacy page', async () => {
    const options = await openOptions(browser);
    const link = options.getByTestId('privacy-policy-link');
    const href = await link.getAttribute('href');
    expect(href).toBe(`${backend.url}/privacy`);
    const page = await fetch(href!);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('How to delete your data');
  });
});
