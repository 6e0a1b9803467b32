/**
 * Sentences a person can act on, one per error code, for the side panel
 * and the popup.
 */
import type { AnswerErrorCode } from './database';

export interface ErrorFacts {
  code: AnswerErrorCode;
  /** The backend's own sentence, used for codes without a fixed one. */
  message?: string;
  resetAt?: string;
  retryAfterSeconds?: number;
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
      const resetTime = formatResetTime(facts.resetAt, options);
      return resetTime
        ? `You have used all your free tokens for this period. Your allowance resets on ${resetTime}.`
        : 'You have used all your free tokens for this period. Your allowance resets at the start of the next period.';
    }
    case 'rate_limited':
      return facts.retryAfterSeconds !== undefined
        ? `Too many questions in a short time. Wait ${Math.ceil(facts.retryAfterSeconds)} seconds, then send it again.`
        : 'Too many questions in a short time. Wait a minute, then send it again.';
    case 'prompt_too_large':
      return 'This question and the conversation before it are too long for the model. Shorten the question or start a new chat.';
    case 'unauthorized':
      return 'The Tokenwise server rejected this browser even after registering it again. Try again in a few minutes.';
    case 'invalid_request':
      return `The Tokenwise server rejected the request: ${facts.message ?? 'it was invalid.'}`;
    case 'not_found':
    case 'invalid_response':
      return 'The Tokenwise server sent a reply this extension cannot read. The extension and the server may be different versions; update both.';
    case 'upstream_failed':
      return 'The AI model failed to answer. Send the question again in a moment.';
    case 'upstream_timeout':
      return 'The AI model took too long to answer. Send the question again in a moment.';
    case 'internal_error':
      return 'The Tokenwise server failed while answering. Send the question again; if it keeps failing, tell the developer of this extension.';
    case 'backend_unreachable':
      return `Cannot reach the Tokenwise server at ${options.backendUrl}. Check your connection and that the server is running, then try again.`;
    case 'backend_timeout':
      return `The Tokenwise server at ${options.backendUrl} did not respond in time. Try again in a moment.`;
    case 'stream_interrupted':
      return 'The connection to the Tokenwise server closed before the answer was finished. Send the question again.';
    case 'background_disconnected':
      return "The extension's background worker stopped before the answer was finished. Send the question again.";
    // The backend's sentence names the budget and when answers resume.
    case 'budget_exceeded':
      return facts.message ?? 'The Tokenwise server has paused answers. Ask again later.';
    case 'extension_failed':
      return `The extension failed: ${facts.message ?? 'unknown error.'} Reload the extension and try again.`;
  }
}
