/**
 * Keys of the extension's entries in `storage.local`. Plain constants with
 * no imports, so scripts outside the extension can read the same entries.
 */

/** The install's registration: `{ installId, token, expiresAt, backendUrl }`. */
export const INSTALL_STORAGE_KEY = 'install';

/** The usage mirror the popup shows; see usage-snapshot.ts for its shape. */
export const USAGE_STORAGE_KEY = 'usage';

/** The model the backend last named for each tier: `{ cheap?, premium? }`. */
export const ROUTE_MODELS_STORAGE_KEY = 'route-models';

/** The side panel's current conversation id. */
export const CURRENT_CONVERSATION_STORAGE_KEY = 'current-conversation';

/** `true` turns on the extension's debug logging. */
export const DEBUG_STORAGE_KEY = 'debug';

/** The options page's settings; see settings.ts for their shape. */
export const SETTINGS_STORAGE_KEY = 'settings';

/** Questions answered and allowance tokens charged this period, for the HUD. */
export const QUESTION_STATS_STORAGE_KEY = 'question-stats';

/** Text from the context menu waiting for the side panel: `{ text, createdAt }`. */
export const PENDING_SELECTION_STORAGE_KEY = 'pending-selection';
