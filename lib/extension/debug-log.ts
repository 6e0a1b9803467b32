/**
 * The extension's only logger: silent unless the debug switch is on. The
 * switch is `WXT_DEBUG=true` at build time or the `debug` flag in
 * `storage.local`, which the options page toggles.
 */

let debugEnabled = import.meta.env.WXT_DEBUG === 'true';

/** Turns debug logging on or off for this page or worker. */
export function setDebugLogging(enabled: boolean): void {
  debugEnabled = enabled;
}

/** Returns whether debug logging is on in this page or worker. */
export function isDebugLogging(): boolean {
  return debugEnabled;
}

/**
 * Logs a debug line with a `[tokenwise:scope]` prefix when the debug
 * switch is on. Never pass question text, answers or tokens as details.
 */
export function debugLog(
  scope: string,
  message: string,
  details?: Record<string, unknown>,
): void {
  if (!debugEnabled) {
    return;
  }
  // eslint-disable-next-line no-console -- the one sanctioned console call
  console.debug(`[tokenwise:${scope}] ${message}`, details ?? '');
}
