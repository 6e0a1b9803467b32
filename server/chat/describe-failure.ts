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

/** Describes a failure as an error code and a sentence a person can act on. */
export function describeFailure(input: FailureInput): {
  code: ErrorCode;
  message: string;
} {
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
  const wait = describeWait(error.retryAfterSeconds);
  if (error.timedOut) {
    return {
      code: 'upstream_timeout',
      message: delivered
        ? `${models} went silent mid-answer and timed out. ${wait}, or ask for the rest. ${charge}`
        : `${models} did not answer in time. ${wait}. ${charge}`,
    };
  }
  if (delivered) {
    return {
      code: 'upstream_failed',
      message: `${models} broke off before finishing the answer. ${wait}, or ask for the rest. ${charge}`,
    };
  }
  const status = error.status === undefined ? '' : ` (HTTP ${error.status})`;
  const advice = error.retryable
    ? wait
    : 'Ask again later; if this keeps happening, the backend operator must check the provider configuration';
  return {
    code: 'upstream_failed',
    message: `${models} failed${status}. ${advice}. ${charge}`,
  };
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
function describeWait(retryAfterSeconds: number | undefined): string {
  if (retryAfterSeconds === undefined || retryAfterSeconds <= 1) {
    return 'Ask again in a moment';
  }
  const seconds = Math.ceil(retryAfterSeconds);
  if (seconds < 120) {
    return `Ask again in ${seconds} seconds`;
  }
  return `Ask again in about ${Math.ceil(seconds / 60)} minutes`;
}
