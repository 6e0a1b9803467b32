/**
 * Sentences a person can act on, one per error code, for the side panel
 * and the popup.
 */
import type { AnswerErrorCode } from './database';
import { t, type MessageName } from './i18n';

export interface ErrorFacts {
  code: AnswerErrorCode;
  /** The backend's own sentence, used for codes without a fixed one. */
  message?: string;
  resetAt?: string;
  retryAfterSeconds?: number;
  /** Allowance tokens still free, on allowance_exhausted. */
  remaining?: number;
}

export interface DescribeErrorOptions {
  backendUrl: string;
  /** BCP 47 locale for dates; the browser's when omitted. */
  locale?: string;
  /** IANA time zone for dates; the browser's when omitted. */
  timeZone?: string;
}

/** Formats an ISO time as a medium date and a short time, or undefined when invalid. */
export function formatResetTime(
  resetAt: string | undefined,
  options: Pick<DescribeErrorOptions, 'locale' | 'timeZone'> = {},
): string | undefined {
  if (!resetAt) {
    return undefined;
  }
  const date = new Date(resetAt);
  if (Number.isNaN(date.getTime())) {
    return undefined;
  }
  return date.toLocaleString(options.locale, {
    dateStyle: 'medium',
    timeStyle: 'short',
    timeZone: options.timeZone,
  });
}

/** Returns the sentence the user sees for an error. */
export function describeError(
  facts: ErrorFacts,
  options: DescribeErrorOptions,
): string {
  switch (facts.code) {
    case 'allowance_exhausted': {
      // Tokens remain, but fewer than this question needs.
      if (facts.remaining !== undefined && facts.remaining > 0) {
        return t(
          'errorAllowanceTooFew',
          facts.remaining.toLocaleString(options.locale),
        );
      }
      const resetTime = formatResetTime(facts.resetAt, options);
      return resetTime
        ? t('errorAllowanceResets', resetTime)
        : t('errorAllowanceNextPeriod');
    }
    case 'rate_limited':
      return facts.retryAfterSeconds !== undefined
        ? t('errorRateLimitedSeconds', Math.ceil(facts.retryAfterSeconds))
        : t('errorRateLimited');
    case 'prompt_too_large':
      return t('errorPromptTooLarge');
    case 'unauthorized':
      return t('errorUnauthorized');
    case 'invalid_request':
      return t(
        'errorInvalidRequest',
        facts.message ?? t('errorInvalidRequestDefault'),
      );
    case 'not_found':
    case 'invalid_response':
      return t('errorInvalidResponse');
    case 'upstream_failed':
      return describeUpstreamWait(facts.retryAfterSeconds, {
        now: 'errorUpstreamFailed',
        seconds: 'errorUpstreamFailedSeconds',
        minutes: 'errorUpstreamFailedMinutes',
      });
    case 'upstream_timeout':
      return describeUpstreamWait(facts.retryAfterSeconds, {
        now: 'errorUpstreamTimeout',
        seconds: 'errorUpstreamTimeoutSeconds',
        minutes: 'errorUpstreamTimeoutMinutes',
      });
    case 'internal_error':
      return t('errorInternal');
    case 'backend_unreachable':
      return t('errorBackendUnreachable', options.backendUrl);
    case 'backend_timeout':
      return t('errorBackendTimeout', options.backendUrl);
    case 'stream_interrupted':
      return t('errorStreamInterrupted');
    case 'background_disconnected':
      return t('errorBackgroundDisconnected');
    // The backend's sentence names the budget and when answers resume.
    case 'budget_exceeded':
      return facts.message ?? t('errorInternal');
    case 'extension_failed':
      return t('errorExtensionFailed', facts.message ?? t('errorUnknown'));
  }
}

/**
 * Picks the sentence for a model failure by the provider's requested wait.
 * A missing wait or one of at most a second gets "in a moment", a wait
 * under two minutes gets its seconds, and a longer one its minutes,
 * rounded up.
 */
function describeUpstreamWait(
  retryAfterSeconds: number | undefined,
  messages: { now: MessageName; seconds: MessageName; minutes: MessageName },
): string {
  if (
    retryAfterSeconds === undefined ||
    !Number.isFinite(retryAfterSeconds) ||
    retryAfterSeconds <= 1
  ) {
    return t(messages.now);
  }
  const seconds = Math.ceil(retryAfterSeconds);
  if (seconds < 120) {
    return t(messages.seconds, seconds);
  }
  return t(messages.minutes, Math.ceil(seconds / 60));
}
