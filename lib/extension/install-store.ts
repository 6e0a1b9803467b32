/**
 * The install's registration with the backend, kept in `storage.local`:
 * its id, its signed token and the backend it belongs to.
 */
import { browser } from 'wxt/browser';
import { z } from 'zod';
import { INSTALL_STORAGE_KEY } from './storage-keys';

export const installRecordSchema = z.object({
  installId: z.string().min(1),
  token: z.string().min(1),
  /** ISO time after which the backend rejects the token. */
  expiresAt: z.string(),
  /** The backend URL that issued the token. */
  backendUrl: z.string(),
});
export type InstallRecord = z.infer<typeof installRecordSchema>;

/** Reads the stored registration; a missing or malformed one reads as undefined. */
export async function readInstall(): Promise<InstallRecord | undefined> {
  const stored = await browser.storage.local.get(INSTALL_STORAGE_KEY);
  const parsed = installRecordSchema.safeParse(stored[INSTALL_STORAGE_KEY]);
  return parsed.success ? parsed.data : undefined;
}

/** Stores a registration, replacing the previous one. */
export async function writeInstall(record: InstallRecord): Promise<void> {
  await browser.storage.local.set({ [INSTALL_STORAGE_KEY]: record });
}

/** Deletes the stored registration. */
export async function clearInstall(): Promise<void> {
  await browser.storage.local.remove(INSTALL_STORAGE_KEY);
}
