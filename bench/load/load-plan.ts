/**
 * The plan one load run follows and the figures it returns; shared by the
 * process that starts a run and the load worker that performs it.
 */
import type { Distribution } from '../stats';

/** Format of the request bodies: Tokenwise's chat or OpenAI's. */
export type BodyFormat = 'tokenwise' | 'openai';

export interface LoadPlan {
  /** Full URL of the endpoint, on 127.0.0.1. */
  url: string;
  bodyFormat: BodyFormat;
  /** OpenAI format only: the model named in the body. */
  model?: string;
  /** Headers sent with every request. */
  headers: Record<string, string>;
  /**
   * Bearer tokens used in turn, one per request, so the load is spread
   * over many installs; empty to send none.
   */
  bearerTokens: string[];
  /** Open connections; each has at most one request in flight. */
  connections: number;
  /** Requests per second over all connections; unset means as fast as possible. */
  requestsPerSecond?: number;
  /** Seconds of load before measuring, at the same rate. */
  warmupSeconds: number;
  /** Seconds of measured load. */
  durationSeconds: number;
  /**
   * Process id of the server under load, whose CPU time the worker reads
   * from /proc over the measured part; none to skip that figure.
   */
  cpuProcessId?: number;
}

export interface LoadResult {
  /** Requests that got a 2xx response in the measured part. */
  completed: number;
  /** Non-2xx responses, connection errors and timeouts. */
  failed: number;
  /** Completed requests per second over the measured part. */
  achievedRate: number;
  /** Time from sending a request to its first answer text, in milliseconds. */
  firstTokenMs?: Distribution;
  /** Time from sending a request to the end of its response, in milliseconds. */
  fullResponseMs?: Distribution;
  /**
   * CPU time (user plus system) that the process `cpuProcessId` used over
   * the measured part, in milliseconds; undefined without /proc.
   */
  targetCpuMs?: number;
}

/** Matches the first text of an answer in a streamed response. */
export const FIRST_TOKEN_MARKERS: Record<BodyFormat, RegExp> = {
  tokenwise: /event: text-delta/,
  openai: /"content":"[^"]/,
};

/**
 * Builds one request body. `label` is unique to a load run and `sequence`
 * to a request in it, so no two questions of a benchmark are the same.
 */
export function buildRequestBody(
  plan: Pick<LoadPlan, 'bodyFormat' | 'model'>,
  label: string,
  sequence: number,
): string {
  // A unique question misses every cache, so each request reaches the
  // provider and pays for reservation, settlement and the ledger.
  const question = `What is the boiling point of water at sea level? (${label}-${sequence})`;
  if (plan.bodyFormat === 'tokenwise') {
    return JSON.stringify({ question, tier: 'cheap' });
  }
  return JSON.stringify({
    model: plan.model,
    stream: true,
    stream_options: { include_usage: true },
    messages: [{ role: 'user', content: question }],
  });
}
