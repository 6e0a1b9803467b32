/**
 * Sends alerts to a Slack-compatible incoming webhook: a JSON body with a
 * `text` field, retried with exponential back-off.
 */
import type { Logger } from '../logger';

export interface WebhookOptions {
  url: string;
  logger: Logger;
  /** Attempts, the first one included. */
  maxAttempts?: number;
  /** Wait before the second attempt, doubled after each failure, in milliseconds. */
  baseDelayMs?: number;
  /** Time limit of one attempt, in milliseconds. */
  timeoutMs?: number;
}

const DEFAULT_MAX_ATTEMPTS = 5;
const DEFAULT_BASE_DELAY_MS = 1_000;
const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * Posts `{"text": text}` to the webhook until it returns a 2xx status. Returns true
 * when it was delivered, false after the last failed attempt; never throws.
 */
export async function sendWebhookAlert(
  options: WebhookOptions,
  alert: { key: string; text: string },
): Promise<boolean> {
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const baseDelayMs = options.baseDelayMs ?? DEFAULT_BASE_DELAY_MS;

  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    try {
      const response = await fetch(options.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text: alert.text }),
        signal: AbortSignal.timeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
      });
      // The body is not read; drain it so the connection is freed.
      await response.body?.cancel();
      if (response.ok) {
        options.logger.info({ alert: alert.key, attempt }, 'alert sent');
        return true;
      }
      options.logger.warn(
        { alert: alert.key, attempt, status: response.status },
        'alert webhook returned an error status',
      );
    } catch (error) {
      options.logger.warn(
        { alert: alert.key, attempt, err: error },
        'alert webhook request failed',
      );
    }
    if (attempt < maxAttempts) {
      await new Promise((resolve) =>
        setTimeout(resolve, baseDelayMs * 2 ** (attempt - 1)),
      );
    }
  }
  options.logger.error(
    { alert: alert.key, attempts: maxAttempts },
    'alert not delivered; giving up',
  );
  return false;
}
