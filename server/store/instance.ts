/**
 * Identity of this backend process in a shared store, so that another
 * process can tell whether the holder of a reservation is still running.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

export interface BackendInstance {
  /** Random id, new at every start. */
  id: string;
  host: string;
  pid: number;
}

/** Creates the identity of a newly opened store in this process. */
export function createBackendInstance(): BackendInstance {
  return { id: randomUUID(), host: hostname(), pid: process.pid };
}

/** When this process started, in milliseconds since the Unix epoch. */
const PROCESS_STARTED_AT = Date.now() - process.uptime() * 1000;

/**
 * Decides whether another instance recorded on this host has exited. One
 * with this process's pid that started before this process did has (a
 * restarted container often reuses pid 1); one that started since is
 * another store in this process. A pid that the system has since given to
 * an unrelated process reads as alive, so such a holder is released only
 * once its heartbeat goes stale.
 */
export function isLocalProcessGone(
  self: BackendInstance,
  other: { id: string; host: string; pid: number; started_at: number },
): boolean {
  if (other.id === self.id || other.host !== self.host) {
    return false;
  }
  if (other.pid === self.pid) {
    return other.started_at < PROCESS_STARTED_AT;
  }
  try {
    process.kill(other.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
