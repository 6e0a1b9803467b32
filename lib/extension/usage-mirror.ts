/**
 * The background's mirror of the install's usage in `storage.local`. While
 * an answer streams it adds an estimate from the tokens seen so far, so the
 * popup moves live; the backend's figures replace the estimate when the
 * answer ends. The backend's ledger stays the truth.
 */
import { browser } from 'wxt/browser';
import type { AnswerUsage, Tier, UsageResponse } from '../protocol';
import { countTokens } from '../tokens';
import { debugLog } from './debug-log';
import { USAGE_STORAGE_KEY } from './storage-keys';
import {
  readUsageSnapshot,
  type DailyUsage,
  type UsageFigures,
  type UsageSnapshot,
} from './usage-snapshot';

/** The backend's last figures, before any live estimate. */
interface SettledFigures {
  plan: string;
  allowance: number;
  used: number;
  remaining: number;
  reserved: number;
  premiumWeight: number;
  periodStart: string;
  resetAt: string;
  daily: DailyUsage[];
}

interface LiveAnswer {
  tier: Tier;
  inputTokens: number;
  outputText: string;
  /** Output tokens of `countedText`, so unchanged text is not counted again. */
  countedText: string;
  countedOutputTokens: number;
}

export interface UsageMirrorOptions {
  backendUrl: string;
  /** Clock in milliseconds since the epoch; tests pass a fixed one. */
  now?: () => number;
}

/**
 * Keeps the `usage` entry of `storage.local` in step with the backend and
 * with the answers streaming now. Writes are coalesced: while one write is
 * in flight, further changes are written together after it.
 */
export class UsageMirror {
  private readonly backendUrl: string;
  private readonly now: () => number;
  private loaded: Promise<void> | undefined;
  private settled: SettledFigures | undefined;
  private status: UsageSnapshot['status'] = 'ok';
  private problem: string | undefined;
  private syncedAt: string | undefined;
  private readonly live = new Map<string, LiveAnswer>();
  private writing: Promise<void> | undefined;
  private dirty = false;

  constructor(options: UsageMirrorOptions) {
    this.backendUrl = options.backendUrl;
    this.now = options.now ?? Date.now;
  }

  /**
   * Replaces the figures with a `GET /v1/usage` response. It drops the
   * estimate of `endedAnswerId`, an answer that ended without a usage event,
   * in the same write, so the popup never shows a moment with neither.
   */
  async applyUsageResponse(
    usage: UsageResponse,
    endedAnswerId?: string,
  ): Promise<void> {
    await this.load();
    if (endedAnswerId !== undefined) {
      this.live.delete(endedAnswerId);
    }
    this.settled = {
      plan: usage.plan,
      allowance: usage.allowance,
      used: usage.used,
      remaining: usage.remaining,
      reserved: usage.reserved,
      premiumWeight: usage.premiumWeight,
      periodStart: usage.periodStart,
      resetAt: usage.resetAt,
      daily: usage.daily,
    };
    this.status = 'ok';
    this.problem = undefined;
    this.syncedAt = new Date(this.now()).toISOString();
    return this.scheduleWrite();
  }

  /** Records that the backend could not be asked, keeping the last figures. */
  async markProblem(
    status: Exclude<UsageSnapshot['status'], 'ok'>,
    problem: string,
  ): Promise<void> {
    await this.load();
    this.status = status;
    this.problem = problem;
    return this.scheduleWrite();
  }

  /** Starts the live estimate of an answer once its route event arrives. */
  async beginAnswer(
    answerId: string,
    answer: { tier: Tier; inputTokens: number },
  ): Promise<void> {
    await this.load();
    this.live.set(answerId, {
      tier: answer.tier,
      inputTokens: answer.inputTokens,
      outputText: '',
      countedText: '',
      countedOutputTokens: 0,
    });
    return this.scheduleWrite();
  }

  /** Updates the live estimate with the answer's text so far. */
  async updateAnswer(answerId: string, outputText: string): Promise<void> {
    await this.load();
    const answer = this.live.get(answerId);
    if (!answer) {
      return;
    }
    answer.outputText = outputText;
    return this.scheduleWrite();
  }

  /**
   * Replaces an answer's estimate with the backend's usage event: what it
   * charged and what remains after it.
   */
  async settleAnswer(answerId: string, usage: AnswerUsage): Promise<void> {
    await this.load();
    this.live.delete(answerId);
    if (this.settled) {
      this.settled = {
        ...this.settled,
        used: this.settled.used + usage.charged,
        remaining: Math.max(0, usage.remaining),
        reserved: 0,
      };
    }
    return this.scheduleWrite();
  }

  /** Drops an answer's estimate, for answers that ended without usage. */
  async endAnswer(answerId: string): Promise<void> {
    await this.load();
    if (!this.live.delete(answerId)) {
      return;
    }
    return this.scheduleWrite();
  }

  /** Resolves once every change so far is written. */
  async flush(): Promise<void> {
    await this.load();
    while (this.writing) {
      await this.writing;
    }
  }

  /** Returns the snapshot as it is written now. */
  snapshot(): UsageSnapshot {
    const snapshot: UsageSnapshot = {
      backendUrl: this.backendUrl,
      status: this.status,
      updatedAt: new Date(this.now()).toISOString(),
    };
    if (this.problem !== undefined) {
      snapshot.problem = this.problem;
    }
    if (this.syncedAt !== undefined) {
      snapshot.syncedAt = this.syncedAt;
    }
    if (this.settled) {
      snapshot.figures = this.computeFigures(this.settled);
    }
    return snapshot;
  }

  private computeFigures(settled: SettledFigures): UsageFigures {
    let liveTokens = 0;
    for (const answer of this.live.values()) {
      if (answer.countedText !== answer.outputText) {
        answer.countedOutputTokens = countTokens(answer.outputText);
        answer.countedText = answer.outputText;
      }
      const weight = answer.tier === 'premium' ? settled.premiumWeight : 1;
      liveTokens += Math.ceil(
        weight * (answer.inputTokens + answer.countedOutputTokens),
      );
    }

    // While answers stream, the backend's `reserved` holds their
    // reservations, which the live estimate replaces.
    const remaining =
      liveTokens > 0
        ? Math.max(0, settled.remaining + settled.reserved - liveTokens)
        : settled.remaining;
    return {
      plan: settled.plan,
      allowance: settled.allowance,
      used: settled.used + liveTokens,
      remaining,
      settledUsed: settled.used,
      settledRemaining: settled.remaining,
      reserved: settled.reserved,
      liveTokens,
      premiumWeight: settled.premiumWeight,
      periodStart: settled.periodStart,
      resetAt: settled.resetAt,
      daily: settled.daily,
    };
  }

  /** Loads the last written figures once; live estimates do not survive a restart. */
  private load(): Promise<void> {
    this.loaded ??= readUsageSnapshot().then((stored) => {
      if (!stored || stored.backendUrl !== this.backendUrl) {
        return;
      }
      this.status = stored.status;
      this.problem = stored.problem;
      this.syncedAt = stored.syncedAt;
      if (stored.figures) {
        const { figures } = stored;
        this.settled = {
          plan: figures.plan,
          allowance: figures.allowance,
          used: figures.settledUsed,
          remaining: figures.settledRemaining,
          reserved: figures.reserved,
          premiumWeight: figures.premiumWeight,
          periodStart: figures.periodStart,
          resetAt: figures.resetAt,
          daily: figures.daily,
        };
      }
    });
    return this.loaded;
  }

  private scheduleWrite(): Promise<void> {
    this.dirty = true;
    this.writing ??= this.writeChanges();
    return this.writing;
  }

  private async writeChanges(): Promise<void> {
    try {
      while (this.dirty) {
        this.dirty = false;
        await browser.storage.local.set({
          [USAGE_STORAGE_KEY]: this.snapshot(),
        });
      }
    } finally {
      // Cleared in the same step as the last check of `dirty`, so a change
      // made after it starts a new write instead of joining this one.
      this.writing = undefined;
    }
    debugLog('usage', 'mirror written', { live: this.live.size });
  }
}
