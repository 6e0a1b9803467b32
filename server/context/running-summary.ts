/**
 * The running summary of a conversation's older turns, written by the
 * cheap tier's model and charged to the install like any cheap answer:
 * reserved before the call, under a request id of its own, and settled
 * to the provider's usage. Each summary is stored under the hash of the
 * turns it covers, so one conversation state is summarized once. A new
 * state folds only the turns after the previous fold point into the
 * summary stored there.
 */
import { randomUUID } from 'node:crypto';
import {
  findFoldPoints,
  SUMMARY_MAX_TOKENS,
  splitTurns,
} from '../../lib/context-budget';
import type { ChatMessage } from '../../lib/protocol';
import { countTokens } from '../../lib/tokens';
import { MIN_OUTPUT_TOKENS } from '../config';
import type { AppServices } from '../http/context';
import { streamWithRetry } from '../providers/retry';
import type { ProviderUsage } from '../providers/types';
import type { UsageCounts } from '../store/types';
import {
  buildSummaryKey,
  buildSummaryRequest,
  fitSummary,
} from './summary-request';
import type { SummaryStore } from './summary-store';

/** How long a summary's reservation may stay open; see RESERVATION_TTL_MS. */
const SUMMARY_RESERVATION_TTL_MS = 15 * 60_000;

export type RunningSummary =
  | {
      kind: 'text';
      text: string;
      status: 'written' | 'reused';
      /** Allowance tokens the summary call took; 0 when reused. */
      charged: number;
    }
  | {
      kind: 'failed';
      /** Why, for the log: allowance, provider, empty or duplicate. */
      reason: string;
      charged: number;
    };

export interface ObtainSummaryOptions {
  services: AppServices;
  store: SummaryStore;
  installId: string;
  /** The request the summary is for, for the log. */
  requestId: string;
  /** The folded turns, oldest first. */
  folded: readonly ChatMessage[];
  /** Aborts the summary call when the client leaves. */
  signal: AbortSignal;
}

/**
 * Returns the summary of the folded turns: the stored one, or a new one
 * written by the cheap tier's model. Never throws for a failed provider
 * call or an exhausted allowance: the caller then goes on without it.
 */
export async function obtainRunningSummary(
  options: ObtainSummaryOptions,
): Promise<RunningSummary> {
  const { store, installId } = options;
  const turns = splitTurns(options.folded);
  const claim = await store.claim(
    buildSummaryKey(installId, options.folded),
    installId,
  );
  if (claim.kind === 'found') {
    return { kind: 'text', text: claim.text, status: 'reused', charged: 0 };
  }

  let written: { text: string; model: string; usage: UsageCounts } | undefined;
  try {
    const previous = await findPreviousSummary(options, turns);
    const result = await writeSummary(
      options,
      previous?.text,
      (previous?.newTurns ?? turns).flat(),
    );
    if (result.kind === 'failed') {
      return result;
    }
    written = result.summary;
    return {
      kind: 'text',
      text: written.text,
      status: 'written',
      charged: result.charged,
    };
  } finally {
    await claim.release(written);
  }
}

/**
 * Returns the stored summary of the folded turns up to the last fold point
 * before the newest one, which an earlier request of the same
 * conversation wrote, with the turns after it.
 */
async function findPreviousSummary(
  options: ObtainSummaryOptions,
  turns: readonly ChatMessage[][],
): Promise<{ text: string; newTurns: ChatMessage[][] } | undefined> {
  const point = findFoldPoints(turns)
    .filter((candidate) => candidate < turns.length)
    .at(-1);
  if (point === undefined) {
    return undefined;
  }
  const key = buildSummaryKey(options.installId, turns.slice(0, point).flat());
  const claim = await options.store.claim(key, options.installId);
  if (claim.kind === 'found') {
    return { text: claim.text, newTurns: turns.slice(point) };
  }
  await claim.release(undefined);
  return undefined;
}

type WriteResult =
  | {
      kind: 'written';
      summary: { text: string; model: string; usage: UsageCounts };
      charged: number;
    }
  | { kind: 'failed'; reason: string; charged: number };

/** Reserves, calls the cheap model and settles; see obtainRunningSummary. */
async function writeSummary(
  options: ObtainSummaryOptions,
  previousSummary: string | undefined,
  turns: readonly ChatMessage[],
): Promise<WriteResult> {
  const { services, installId } = options;
  const provider = services.providers.cheap;
  const request = buildSummaryRequest({ previousSummary, turns });
  const summaryRequestId = randomUUID();
  const log = services.logger.child({
    requestId: options.requestId,
    summaryRequestId,
    installId,
  });

  // NOTE: the summary call is reserved against the allowance but not
  // counted in the plan's tokens-per-minute limit.
  const now = services.now();
  const reserved = await services.store.reserve({
    requestId: summaryRequestId,
    installId,
    tier: 'cheap',
    model: provider.modelName,
    inputTokens: request.inputTokens,
    maxOutputTokens: SUMMARY_MAX_TOKENS,
    minOutputTokens: MIN_OUTPUT_TOKENS,
    now,
    expiresAt: new Date(now.getTime() + SUMMARY_RESERVATION_TTL_MS),
  });
  if (reserved.status !== 'reserved') {
    log.warn(
      { status: reserved.status, inputTokens: request.inputTokens },
      'running summary not written: no reservation',
    );
    return { kind: 'failed', reason: reserved.status, charged: 0 };
  }

  const { config } = services;
  const stream = streamWithRetry({
    primary: { adapter: provider.adapter, model: provider.modelRef.model },
    fallback: provider.fallback
      ? {
          adapter: provider.fallback.adapter,
          model: provider.fallback.modelRef.model,
        }
      : undefined,
    call: {
      system: request.system,
      messages: request.messages,
      maxOutputTokens: reserved.reservation.maxOutputTokens,
      signal: options.signal,
    },
    policy: {
      maxAttempts: config.maxAttempts,
      baseDelayMs: config.retryBaseDelayMs,
      maxDelayMs: config.retryMaxDelayMs,
    },
    timeouts: {
      connectMs: config.connectTimeoutMs,
      firstTokenMs: config.firstTokenTimeoutMs,
      idleMs: config.idleTimeoutMs,
    },
    logger: log,
  });

  let text = '';
  let usage: ProviderUsage | undefined;
  let failure: unknown;
  try {
    for await (const event of stream) {
      if (event.type === 'text-delta') {
        text += event.text;
      } else if (event.type === 'usage') {
        usage = event.usage;
      }
    }
  } catch (error) {
    failure = error;
  }

  const model =
    stream.answeredBy?.fallback && provider.fallback
      ? provider.fallback.modelName
      : provider.modelName;
  if (failure !== undefined && text === '') {
    await services.store.release({
      requestId: summaryRequestId,
      now: services.now(),
    });
    log.warn({ err: failure }, 'running summary call failed');
    return { kind: 'failed', reason: 'provider', charged: 0 };
  }

  // The provider bills what it received even when the answer broke off.
  const counts: UsageCounts = usage ?? {
    inputTokens: request.inputTokens,
    cachedInputTokens: 0,
    outputTokens: countTokens(text),
  };
  const settled = await services.store.settle({
    requestId: summaryRequestId,
    usage: counts,
    estimated: usage === undefined,
    now: services.now(),
    model: model === provider.modelName ? undefined : model,
  });
  const charged =
    settled.status === 'settled' || settled.status === 'already_settled'
      ? settled.charged
      : 0;
  const summary = fitSummary(text);
  if (failure !== undefined || summary === '') {
    log.warn(
      { err: failure, charged },
      'running summary broke off or came back empty; not used',
    );
    return {
      kind: 'failed',
      reason: failure === undefined ? 'empty' : 'provider',
      charged,
    };
  }

  log.info(
    {
      inputTokens: counts.inputTokens,
      outputTokens: counts.outputTokens,
      charged,
      turns: splitTurns(turns).length,
      fromPrevious: previousSummary !== undefined,
    },
    'running summary written',
  );
  return {
    kind: 'written',
    summary: { text: summary, model, usage: counts },
    charged,
  };
}
