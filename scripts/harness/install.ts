/**
 * Reads the install token the extension stored and asks the backend for the
 * install's usage, so a script can check the popup against the ledger.
 */
import type { Worker } from 'playwright-core';
import { usageResponseSchema, type UsageResponse } from '../../lib/protocol';
import { INSTALL_STORAGE_KEY } from '../../lib/extension/storage-keys';

interface ChromeGlobal {
  chrome: {
    storage: {
      local: { get(key: string): Promise<Record<string, unknown>> };
    };
  };
}

/** Returns the install token from the extension's storage.local. */
export async function readInstallToken(serviceWorker: Worker): Promise<string> {
  const token = await serviceWorker.evaluate(async (key) => {
    // Runs in the service worker, where the `chrome` namespace exists.
    const extensionApi = (globalThis as unknown as ChromeGlobal).chrome;
    const stored = await extensionApi.storage.local.get(key);
    const install = stored[key] as { token?: string } | undefined;
    return install?.token ?? '';
  }, INSTALL_STORAGE_KEY);
  if (!token) {
    throw new Error(
      `The extension has no install token under storage key "${INSTALL_STORAGE_KEY}"; it did not register.`,
    );
  }
  return token;
}

/** Fetches `GET /v1/usage` for an install token and validates the answer. */
export async function fetchUsage(
  backendUrl: string,
  token: string,
): Promise<UsageResponse> {
  const response = await fetch(`${backendUrl}/v1/usage`, {
    headers: { authorization: `Bearer ${token}` },
  });
  if (!response.ok) {
    throw new Error(
      `GET /v1/usage failed with status ${response.status}: ${await response.text()}`,
    );
  }
  return usageResponseSchema.parse(await response.json());
}
