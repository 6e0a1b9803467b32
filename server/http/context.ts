/**
 * Types shared by the HTTP handlers: the dependencies the app is built
 * from, and the per-request variables that middleware sets.
 */
import type { ServerAnswerCache } from '../cache/answer-cache';
import type { Config } from '../config';
import type { RateLimiter } from '../limits/rate-limiter';
import type { Logger } from '../logger';
import type { TierProviders } from '../providers/index';
import type { Plan, Store } from '../store/types';
import type { ActiveStreams } from './active-streams';

export interface AppDependencies {
  config: Config;
  store: Store;
  providers: TierProviders;
  logger: Logger;
  /** HMAC key for install tokens. */
  installSecret: string;
  /** Clock; tests pass a fixed one. Defaults to the system clock. */
  now?: () => Date;
  /** Answers in flight, for a graceful stop. A new set when omitted. */
  activeStreams?: ActiveStreams;
  /**
   * The server answer cache. When omitted, the app opens the one the
   * configuration names; `null` turns it off.
   */
  answerCache?: ServerAnswerCache | null;
  /** Plans by name; built from the configuration when omitted. */
  plans?: Readonly<Record<string, Plan>>;
  /**
   * Rate limiter; when omitted, the configuration's (Redis or memory),
   * which the app's close() closes.
   */
  rateLimiter?: RateLimiter;
}

/** Dependencies with the defaults filled in. */
export interface AppServices extends Required<
  Omit<AppDependencies, 'answerCache'>
> {
  /** The server answer cache, or undefined when it is off. */
  answerCache: ServerAnswerCache | undefined;
  /** True once a stop has begun; new chats are then rejected. */
  isStopping: () => boolean;
}

export interface AppVariables {
  /** Id of this HTTP request; a chat uses its chat request id. */
  requestId: string;
  /** The authenticated install, once the token is checked. */
  installId: string | undefined;
  /** The authenticated install's plan name. */
  installPlan: string | undefined;
  /** True when the handler logs the request itself (streamed chats). */
  loggedByHandler: boolean;
}

export interface AppEnv {
  Variables: AppVariables;
}
