/** The backend the extension talks to: the user's choice, else the build's. */
import { BACKEND_URL, normalizeBackendUrl } from './config';
import type { Settings } from './settings';

/**
 * Returns the backend URL from the settings, or the build's when the
 * settings name none or an invalid one.
 */
export function resolveBackendUrl(settings: Pick<Settings, 'backendUrl'>) {
  if (!settings.backendUrl) {
    return BACKEND_URL;
  }
  try {
    return normalizeBackendUrl(settings.backendUrl);
  } catch {
    return BACKEND_URL;
  }
}
