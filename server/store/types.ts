/**
 * The store behind the backend: installs, the append-only token ledger,
 * open reservations and the materialized balance per install and period.
 * Every method is async, so a networked database can implement the same
 * interface; each one that changes the ledger runs as one transaction.
 *
 * All token amounts named `allowance` or `charged` are allowance tokens:
 * provider tokens times the tier's weight, rounded up.
 */
import type { Tier } from '../../lib/protocol';

/**
 * A plan: how many allowance tokens a period grants, the premium weight,
 * and the per-install rate limits.
 */
export interface Plan {
  name: string;
  /** Allowance tokens granted at the start of each period. */
  allowanceTokens: number;
  /** Allowance tokens charged per premium-tier token; cheap-tier tokens weigh 1. */
  premiumWeight: number;
  /** Chat requests an install may start per minute. */
  requestsPerMinute: number;
  /** Provider tokens (input plus output cap) an install may reserve per minute. */
  tokensPerMinute: number;
  /** Stripe price id that sells the plan; unused by the backend so far. */
  stripePriceId?: string;
}

export interface InstallRecord {
  id: string;
  /** Registration time, whole seconds; periods are counted from it. */
  createdAt: Date;
  plan: string;
  revoked: boolean;
  /**
   * When the user deleted the install's data; such an install is also
   * revoked. Undefined for an install that was never deleted.
   */
  deletedAt?: Date;
}

export const LEDGER_ENTRY_KINDS = [
  'reserve',
  'settle',
  'release',
  'grant',
  'cache_hit',
  'reset',
] as const;
export type LedgerEntryKind = (typeof LEDGER_ENTRY_KINDS)[number];

/**
 * One ledger entry. `allowanceTokens` is the amount the entry moves: held
 * by reserve, charged by settle, returned by release, added by grant, saved
 * (not charged) by cache_hit, and the period's allowance for reset.
 */
export interface LedgerEntry {
  id: number;
  kind: LedgerEntryKind;
  requestId: string | null;
  installId: string;
  periodStart: Date;
  tier: Tier | null;
  model: string | null;
  /** Input tokens, cached ones included; the counted input on a reserve. */
  inputTokens: number;
  cachedInputTokens: number;
  /** Output tokens; the output cap on a reserve. */
  outputTokens: number;
  weight: number;
  allowanceTokens: number;
  /** True when the tokenizer counted the output because the provider reported no usage. */
  estimated: boolean;
  createdAt: Date;
}

/** An install's balance in one period. */
export interface Balance {
  installId: string;
  plan: Plan;
  periodStart: Date;
  /** When the next period starts and the allowance resets. */
  resetAt: Date;
  /** The plan's allowance for the period plus grants in it. */
  allowance: number;
  used: number;
  reserved: number;
  /** allowance - used - reserved, never below zero. */
  remaining: number;
}

export interface Reservation {
  requestId: string;
  installId: string;
  periodStart: Date;
  tier: Tier;
  model: string;
  weight: number;
  inputTokens: number;
  /** The output cap sent to the provider, possibly shrunk to fit the allowance. */
  maxOutputTokens: number;
  /** Allowance tokens held: ceil(weight * (input + output cap)). */
  amount: number;
  createdAt: Date;
  expiresAt: Date;
}

export interface ReserveRequest {
  requestId: string;
  installId: string;
  tier: Tier;
  model: string;
  /** Input tokens counted by the backend over exactly what is sent. */
  inputTokens: number;
  /** The output cap wanted; it shrinks when the allowance is smaller. */
  maxOutputTokens: number;
  /** The smallest output cap worth calling the provider for. */
  minOutputTokens: number;
  now: Date;
  /** When an unsettled reservation is released by the sweeper. */
  expiresAt: Date;
}

export type ReserveResult =
  | { status: 'reserved'; reservation: Reservation; balance: Balance }
  | {
      status: 'allowance_exhausted';
      balance: Balance;
      /** Allowance tokens the smallest acceptable answer needs. */
      requiredTokens: number;
    }
  /** The request id was already used for a reservation. */
  | { status: 'duplicate_request' };

export interface UsageCounts {
  /** All input tokens, cached ones included. */
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
}

export interface SettleRequest {
  requestId: string;
  usage: UsageCounts;
  estimated: boolean;
  now: Date;
  /**
   * The model that answered, as `provider:model`, when it is not the
   * reserved one (the tier's fallback model). The settle entry records it;
   * without it the entry keeps the reservation's model.
   */
  model?: string;
}

export type SettleResult =
  | {
      status: 'settled' | 'already_settled';
      /** Allowance tokens charged, never more than the reservation held. */
      charged: number;
      weight: number;
      balance: Balance;
    }
  | { status: 'already_released' | 'not_found' };

export interface ReleaseRequest {
  requestId: string;
  now: Date;
}

export type ReleaseResult =
  | { status: 'released'; amount: number; balance: Balance }
  | { status: 'already_settled' | 'already_released' | 'not_found' };

export interface GrantRequest {
  installId: string;
  /** Allowance tokens added to the current period; they do not roll over. */
  tokens: number;
  now: Date;
}

export interface ChangePlanRequest {
  installId: string;
  /** Name of a configured plan. */
  plan: string;
  now: Date;
}

export interface CacheHitRequest {
  requestId: string;
  installId: string;
  tier: Tier;
  /** Model whose answer was reused. */
  model: string;
  /** Tokens the reused answer would have cost on a provider call. */
  usage: UsageCounts;
  now: Date;
}

/** Use of one model in a time range; tokens are provider tokens unless named. */
export interface ModelUsage {
  model: string;
  tier: Tier;
  /** Settled answers. */
  requests: number;
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
  /** Allowance tokens charged. */
  charged: number;
  /** Answers served from the cache. */
  cacheHits: number;
  /** Allowance tokens that cache hits saved. */
  saved: number;
}

export interface DailyUsage {
  /** UTC date, YYYY-MM-DD. */
  date: string;
  /** Allowance tokens charged on the cheap tier. */
  cheap: number;
  /** Allowance tokens charged on the premium tier. */
  premium: number;
  /** Allowance tokens that cache hits saved. */
  saved: number;
}

export interface DeleteInstallDataRequest {
  installId: string;
  now: Date;
}

export type DeleteInstallDataResult =
  | {
      /** `already_deleted` when an earlier request deleted it. */
      status: 'deleted' | 'already_deleted';
      /** The first deletion's time. */
      deletedAt: Date;
      /** Ledger entries kept for accounting; they carry no question text. */
      ledgerEntriesKept: number;
    }
  | { status: 'not_found' }
  /**
   * Nothing was deleted, because a paid plan's subscription of the install
   * is not cancelled and Stripe would go on charging for it.
   */
  | { status: 'subscription_active'; subscriptionIds: string[] };

export interface CreateInstallRequest {
  id: string;
  plan: string;
  now: Date;
}

export interface Store {
  /** Creates an install; its first period starts at `now`, whole seconds. */
  createInstall(request: CreateInstallRequest): Promise<InstallRecord>;
  getInstall(installId: string): Promise<InstallRecord | undefined>;

  /**
   * Reserves ceil(weight * (input + output cap)) allowance tokens in one
   * transaction, shrinking the output cap to what the balance can cover.
   * Throws InstallNotFoundError for an unknown install.
   */
  reserve(request: ReserveRequest): Promise<ReserveResult>;
  /**
   * Settles a reservation to the reported usage, charging
   * ceil(weight * (input + output)) capped at the amount held. Settling a
   * settled request changes nothing and returns the first result.
   */
  settle(request: SettleRequest): Promise<SettleResult>;
  /** Releases a reservation in full; releasing twice changes nothing. */
  release(request: ReleaseRequest): Promise<ReleaseResult>;
  /**
   * Releases every reservation whose expiry has passed, and every one held
   * by a backend process that is gone, and returns them. A process counts
   * as gone when it ran on this host and its pid no longer exists, or when
   * it has not called this method for STALE_INSTANCE_MS. Each call also
   * records that this store's process is alive.
   */
  releaseExpiredReservations(now: Date): Promise<Reservation[]>;
  /** Adds allowance tokens to the install's current period. */
  grant(request: GrantRequest): Promise<Balance>;
  /**
   * Moves an install to another plan. The current period's allowance
   * becomes the new plan's, never below what is already used and reserved,
   * and a reset entry records it. Throws UnknownPlanError for a plan the
   * configuration does not define.
   */
  changePlan(request: ChangePlanRequest): Promise<Balance>;
  /**
   * Records an answer served from the cache: a cache_hit entry with the
   * tokens it saved, weighted like a provider answer, charging nothing.
   */
  recordCacheHit(request: CacheHitRequest): Promise<Balance>;

  /**
   * Returns the balance of the period containing `now`, starting the
   * period (a reset entry) when it is new.
   */
  getBalance(installId: string, now: Date): Promise<Balance>;
  /** Returns one entry per UTC day from `since` to `until`, both included. */
  getDailyUsage(
    installId: string,
    range: { since: Date; until: Date },
  ): Promise<DailyUsage[]>;
  /** Returns settled and cached use per model from `since` (inclusive) to `until` (exclusive). */
  getModelUsage(
    installId: string,
    range: { since: Date; until: Date },
  ): Promise<ModelUsage[]>;
  /**
   * Deletes what the store holds about an install at the user's request,
   * in one transaction: the install is revoked and stamped deleted, and
   * the records of spike alerts that name it are removed. An install with
   * a subscription that is not cancelled is left alone. The ledger,
   * balances and plan stay for the developer's accounting, because no
   * ledger column holds question or answer text. A repeat changes nothing.
   *
   * Every table added later that holds data derived from an install's
   * conversations must delete that install's rows here, on both stores.
   */
  deleteInstallData(
    request: DeleteInstallDataRequest,
  ): Promise<DeleteInstallDataResult>;
  /** Returns the install's ledger entries, oldest first. */
  listLedgerEntries(installId: string): Promise<LedgerEntry[]>;

  close(): Promise<void>;
}

/**
 * How long a backend process may go without sweeping before another one
 * releases its reservations: five sweeps of the server's 60-second timer.
 */
export const STALE_INSTANCE_MS = 5 * 60_000;

/** An install id that the store does not hold. */
export class InstallNotFoundError extends Error {
  readonly installId: string;

  constructor(installId: string) {
    super(`Install ${installId} does not exist.`);
    this.name = 'InstallNotFoundError';
    this.installId = installId;
  }
}

/** A plan name that the configuration does not define. */
export class UnknownPlanError extends Error {
  readonly plan: string;

  constructor(plan: string, installId?: string) {
    super(
      installId === undefined
        ? `The configuration defines no plan "${plan}"; add it to TOKENWISE_PLANS_FILE or choose a defined plan.`
        : `Install ${installId} is on plan "${plan}", which the configuration does not define; add the plan or move the install to another one.`,
    );
    this.name = 'UnknownPlanError';
    this.plan = plan;
  }
}
