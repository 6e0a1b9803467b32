/**
 * Turns a failed answer into the error event the side panel shows: a
 * stable code and a sentence that says what failed, what was charged and
 * what the user can do next.
 */
import type { ErrorCode, Tier } from '../../lib/protocol';
import type { TierProvider } from '../providers/index';
import { isProviderError } from '../providers/types';

export interface FailureInput {
  error: unknown;
  /** True when a stop of the backend aborted the answer. */
  stopping: boolean;
  /** True when part of the answer reached the user before the failure. */
  delivered: boolean;
  tier: Tier;
  tierProvider: TierProvider;
}

/** The error event's data: what failed and when to ask again. */
export interface FailureDescription {
  code: ErrorCode;
  message: string;
  /**
   * Whole seconds to wait, rounded up from the provider's Retry-After;
   * absent when the provider sent none.
   */
  retryAfterSeconds?: number;
}

/**
 * Describes a failure as an error code, a sentence a person can act on and,
 * when the provider asked for a wait, the seconds to wait.
 */
export function describeFailure(input: FailureInput): FailureDescription {
  const { error, delivered } = input;
  const charge = delivered
    ? 'The part shown is kept. Only the delivered part was charged.'
    : 'Nothing was charged.';

  if (input.stopping) {
    return {
      code: 'upstream_failed',
      message: `The backend stopped while answering. Ask again in a moment. ${charge}`,
    };
  }
  if (!isProviderError(error)) {
    return {
      code: 'internal_error',
      message: `The backend failed while answering. Ask again. ${charge}`,
    };
  }

  const models = describeModels(input.tier, input.tierProvider, delivered);
  const retryAfterSeconds = roundRetryAfter(error.retryAfterSeconds);
  const wait = describeWait(retryAfterSeconds);
  const retry = retryAfterSeconds === undefined ? {} : { retryAfterSeconds };
  if (error.timedOut) {
    return {
      code: 'upstream_timeout',
      message: delivered
        ? `${models} went silent mid-answer and timed out. ${wait}, or ask for the rest. ${charge}`
        : `${models} did not answer in time. ${wait}. ${charge}`,
      ...retry,
    };
  }
  if (delivered) {
    return {
      code: 'upstream_failed',
      message: `${models} broke off before finishing the answer. ${wait}, or ask for the rest. ${charge}`,
      ...retry,
    };
  }
  const status = error.status === undefined ? '' : ` (HTTP ${error.status})`;
  if (!error.retryable) {
    return {
      code: 'upstream_failed',
      message: `${models} failed${status}. Ask again later; if this keeps happening, the backend operator must check the provider configuration. ${charge}`,
    };
  }
  return {
    code: 'upstream_failed',
    message: `${models} failed${status}. ${wait}. ${charge}`,
    ...retry,
  };
}

/**
 * Rounds a Retry-After up to whole seconds; undefined when it is missing,
 * not a finite number, or not positive.
 */
function roundRetryAfter(seconds: number | undefined): number | undefined {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds <= 0) {
    return undefined;
  }
  return Math.ceil(seconds);
}

/** Names the models that were tried, e.g. "The cheap model (a) and its fallback (b)". */
function describeModels(
  tier: Tier,
  tierProvider: TierProvider,
  delivered: boolean,
): string {
  const primary = `The ${tier} model (${tierProvider.modelName})`;
  // Before the answer starts, a failure means every model was tried.
  if (!delivered && tierProvider.fallback) {
    return `${primary} and its fallback (${tierProvider.fallback.modelName})`;
  }
  return primary;
}

/** Advises when to ask again, from the provider's Retry-After when it sent one. */
export function describeWait(seconds: number | undefined): string {
  if (seconds === undefined || seconds <= 1) {
    return 'Ask again in a moment';
  }
  if (seconds < 120) {
    return `Ask again in ${seconds} seconds`;
  }
  return `Ask again in about ${Math.ceil(seconds / 60)} minutes`;
}
