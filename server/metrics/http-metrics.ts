/**
 * In-memory HTTP metrics of this backend process: requests by route and
 * status, rejections by error code, and a latency histogram. They reset
 * when the process restarts, as Prometheus counters may.
 */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../http/context';

/** Upper bounds of the latency buckets, in seconds. */
export const LATENCY_BUCKETS_SECONDS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
] as const;

interface Histogram {
  /** Count per bucket, cumulative counts are computed when rendering. */
  buckets: number[];
  count: number;
  sumSeconds: number;
}

/** One hour's request and rejection counts. */
export interface HourlyHttpCounts {
  hourStart: number;
  requests: number;
  rejections: number;
}

/** Counters that the middleware fills and /metrics and the dashboard read. */
export class HttpMetrics {
  /** Requests by `method route status`. */
  readonly requests = new Map<string, number>();
  /** Rejected requests (4xx and 5xx JSON errors) by error code. */
  readonly rejections = new Map<string, number>();
  /** Latency by route. */
  readonly latency = new Map<string, Histogram>();
  private readonly hours = new Map<number, HourlyHttpCounts>();

  /** Records one finished request. */
  recordRequest(options: {
    method: string;
    route: string;
    status: number;
    seconds: number;
    errorCode: string | undefined;
    now: number;
  }): void {
    const key = `${options.method} ${options.route} ${options.status}`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);

    const histogram = this.latency.get(options.route) ?? {
      buckets: LATENCY_BUCKETS_SECONDS.map(() => 0),
      count: 0,
      sumSeconds: 0,
    };
    const bucket = LATENCY_BUCKETS_SECONDS.findIndex(
      (bound) => options.seconds <= bound,
    );
    if (bucket !== -1) {
      histogram.buckets[bucket]! += 1;
    }
    histogram.count += 1;
    histogram.sumSeconds += options.seconds;
    this.latency.set(options.route, histogram);

    const hourStart = Math.floor(options.now / 3_600_000) * 3_600_000;
    const hour = this.hours.get(hourStart) ?? {
      hourStart,
      requests: 0,
      rejections: 0,
    };
    hour.requests += 1;
    if (options.errorCode !== undefined) {
      this.rejections.set(
        options.errorCode,
        (this.rejections.get(options.errorCode) ?? 0) + 1,
      );
      hour.rejections += 1;
    }
    this.hours.set(hourStart, hour);
    this.forgetHoursBefore(hourStart - 48 * 3_600_000);
  }

  /** Returns the hourly counts from `since` on, oldest first. */
  listHours(since: number): HourlyHttpCounts[] {
    return [...this.hours.values()]
      .filter((hour) => hour.hourStart >= since)
      .sort((left, right) => left.hourStart - right.hourStart);
  }

  private forgetHoursBefore(limit: number): void {
    for (const hourStart of this.hours.keys()) {
      if (hourStart < limit) {
        this.hours.delete(hourStart);
      }
    }
  }
}

/**
 * Creates the middleware that records every request. The latency is the
 * time until the handler returns its response, so for an event stream it
 * is the time until the stream starts, not until the answer ends.
 */
export function createHttpMetricsMiddleware(
  metrics: HttpMetrics,
): MiddlewareHandler<AppEnv> {
  return async (context, next) => {
    const startedAt = performance.now();
    await next();

    const status = context.res.status;
    let errorCode: string | undefined;
    if (
      status >= 400 &&
      (context.res.headers.get('content-type') ?? '').includes(
        'application/json',
      )
    ) {
      errorCode = await readErrorCode(context.res.clone());
    }
    metrics.recordRequest({
      method: context.req.method,
      // Unmatched paths share one label, so scanners cannot grow the map.
      route: status === 404 ? 'unmatched' : context.req.routePath,
      status,
      seconds: (performance.now() - startedAt) / 1000,
      errorCode,
      now: Date.now(),
    });
  };
}

async function readErrorCode(response: Response): Promise<string | undefined> {
  try {
    const body = (await response.json()) as { error?: { code?: unknown } };
    return typeof body.error?.code === 'string' ? body.error.code : undefined;
  } catch {
    return undefined;
  }
}
