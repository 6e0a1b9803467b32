/**
 * Answers that are streaming right now, so a graceful stop can wait for
 * them and then abort the rest, which settles or releases their
 * reservations before the store closes.
 */

interface ActiveStream {
  controller: AbortController;
  finished: Promise<void>;
}

/** Reason given to provider calls aborted by a stop. */
export class ServerStoppingError extends Error {
  constructor() {
    super('The backend is stopping.');
    this.name = 'ServerStoppingError';
  }
}

export class ActiveStreams {
  private readonly streams = new Set<ActiveStream>();

  /** Number of answers in flight. */
  get size(): number {
    return this.streams.size;
  }

  /**
   * Tracks one answer until `finished` settles. `controller` aborts its
   * provider call.
   */
  track(controller: AbortController, finished: Promise<void>): void {
    const stream: ActiveStream = { controller, finished };
    this.streams.add(stream);
    void finished.finally(() => this.streams.delete(stream));
  }

  /**
   * Waits until every tracked answer has finished or `timeoutMs` passes.
   * Returns true when none is left.
   */
  async waitForAll(timeoutMs: number): Promise<boolean> {
    if (this.streams.size === 0) {
      return true;
    }
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const allFinished = Promise.allSettled(
      [...this.streams].map((stream) => stream.finished),
    ).then(() => true as const);

    const result = await Promise.race([allFinished, timedOut]);
    clearTimeout(timer);
    return result && this.streams.size === 0;
  }

  /** Aborts every answer in flight and waits until each has settled. */
  async abortAll(): Promise<void> {
    const streams = [...this.streams];
    for (const stream of streams) {
      stream.controller.abort(new ServerStoppingError());
    }
    await Promise.allSettled(streams.map((stream) => stream.finished));
  }
}
