/**
 * Build-time settings of the extension: the backend origin it talks to.
 */

/** Backend URL used when the build sets no `WXT_BACKEND_URL`. */
export const DEFAULT_BACKEND_URL = 'http://127.0.0.1:8787';

/**
 * Normalizes a backend URL to its origin plus path, without a trailing
 * slash, so `${url}/v1/chat` is well formed. Throws an Error naming the
 * value when it is not an absolute http or https URL.
 */
export function normalizeBackendUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch (error) {
    throw new Error(
      `Invalid backend URL "${value}": set WXT_BACKEND_URL to an absolute URL such as ${DEFAULT_BACKEND_URL}.`,
      { cause: error },
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(
      `Invalid backend URL "${value}": the protocol must be http or https.`,
    );
  }
  return `${url.origin}${url.pathname}`.replace(/\/+$/, '');
}

/** The backend this build talks to, from `WXT_BACKEND_URL`. */
export const BACKEND_URL = normalizeBackendUrl(
  (import.meta.env.WXT_BACKEND_URL as string | undefined) ||
    DEFAULT_BACKEND_URL,
);

/**
 * Returns the upgrade page from `WXT_UPGRADE_URL`, or undefined when it is
 * unset or not an http or https URL; the upgrade button hides then.
 */
export function parseUpgradeUrl(value: string | undefined): string | undefined {
  if (!value) {
    return undefined;
  }
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:'
      ? url.href
      : undefined;
  } catch {
    return undefined;
  }
}

/** Where the upgrade button leads, set at build time with `WXT_UPGRADE_URL`. */
export const UPGRADE_URL = parseUpgradeUrl(
  import.meta.env.WXT_UPGRADE_URL as string | undefined,
);
