/**
 * deleteAllData against a real backend on 127.0.0.1: the server deletion,
 * the local stores and a new registration, and the cases where the
 * backend has nothing of this browser or rejects the request.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fakeBrowser } from 'wxt/testing';
import { BackendClient } from '../../../lib/extension/backend-client';
import { isBackendError } from '../../../lib/extension/backend-error';
import {
  TokenwiseDatabase,
  type CachedAnswerRecord,
} from '../../../lib/extension/database';
import {
  readInstall,
  writeInstall,
} from '../../../lib/extension/install-store';
import { deleteAllData } from '../../../lib/extension/local-data';
import { USAGE_STORAGE_KEY } from '../../../lib/extension/storage-keys';
import {
  createTempDirectory,
  startTestBackend,
  type TestBackend,
} from '../../server/helpers';

let temp: ReturnType<typeof createTempDirectory>;
let backend: TestBackend;
let database: TokenwiseDatabase;

beforeEach(async () => {
  fakeBrowser.reset();
  temp = createTempDirectory();
  backend = await startTestBackend(temp.directory);
  database = new TokenwiseDatabase(`tokenwise-delete-${Math.random()}`);
});

afterEach(async () => {
  database.close();
  await backend.stop({ drainTimeoutMs: 1_000 });
  temp.remove();
});

async function addLocalAnswer(): Promise<void> {
  await database.answers.add({
    key: 'key-1',
    question: 'What is the capital of Chile?',
  } as unknown as CachedAnswerRecord);
}

describe('deleteAllData', () => {
  it('deletes on the server, locally, then registers anew', async () => {
    const client = new BackendClient({ baseUrl: backend.url });
    const old = await client.register();
    await addLocalAnswer();
    await fakeBrowser.storage.local.set({ [USAGE_STORAGE_KEY]: { used: 5 } });

    const deletion = await deleteAllData({ database, client });

    expect(deletion.server?.installId).toBe(old.installId);
    expect(deletion.registrationError).toBeUndefined();
    expect(deletion.newInstallId).toBeDefined();
    expect(deletion.newInstallId).not.toBe(old.installId);
    expect((await readInstall())?.installId).toBe(deletion.newInstallId);
    expect(await database.answers.count()).toBe(0);
    const usage = await fakeBrowser.storage.local.get(USAGE_STORAGE_KEY);
    expect(usage[USAGE_STORAGE_KEY]).toBeUndefined();
    const stored = await backend.store.getInstall(old.installId);
    expect(stored?.deletedAt).toBeInstanceOf(Date);
  });

  it('clears local data when the backend has no install', async () => {
    const client = new BackendClient({ baseUrl: backend.url });
    await addLocalAnswer();

    const deletion = await deleteAllData({ database, client });

    expect(deletion.server).toBeUndefined();
    expect(deletion.newInstallId).toBeDefined();
    expect(await database.answers.count()).toBe(0);
  });

  it('keeps local data when the backend rejects', async () => {
    const client = new BackendClient({ baseUrl: backend.url });
    await writeInstall({
      installId: 'not-registered',
      token: 'tw1.forged.token',
      expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
      backendUrl: backend.url,
    });
    await addLocalAnswer();

    const failure = await deleteAllData({ database, client }).catch(
      (error: unknown) => error,
    );

    expect(isBackendError(failure)).toBe(true);
    expect((failure as { code: string }).code).toBe('unauthorized');
    expect(await database.answers.count()).toBe(1);
    expect((await readInstall())?.token).toBe('tw1.forged.token');
  });

  it('reports a registration that fails afterwards', async () => {
    const client = new BackendClient({ baseUrl: backend.url });
    await client.register();
    const registrations = backend.config.registrationsPerHour;
    // Uses up this address's registrations, so the new one is refused.
    for (let index = 1; index < registrations; index++) {
      await fetch(`${backend.url}/v1/installs`, { method: 'POST' });
    }

    const deletion = await deleteAllData({ database, client });

    expect(deletion.server).toBeDefined();
    expect(deletion.newInstallId).toBeUndefined();
    expect(deletion.registrationError).toMatch(/Too many new installs/);
    expect(await readInstall()).toBeUndefined();
  });
});
