/**
 * Runs the fake provider in its own process for the load benchmarks, so
 * its work is not counted against the process that starts the runs. Prints
 * one JSON line with its base URLs, then serves until SIGTERM, until its
 * standard input closes, or for at most MAX_LIFETIME_MS.
 */
import { startFakeProvider } from '../../tests/fake-provider/index';

/** Upper bound on the process's life, in case its parent dies silently. */
const MAX_LIFETIME_MS = 60 * 60_000;

const provider = await startFakeProvider();

// The fake provider records every request for tests. Under load that list
// would grow without bound, so it is emptied once a second.
const trimmer = setInterval(() => {
  provider.requests.length = 0;
}, 1_000);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) {
    return;
  }
  stopping = true;
  clearInterval(trimmer);
  clearTimeout(lifetime);
  await provider.close();
  process.exit(0);
}

const lifetime = setTimeout(() => void stop(), MAX_LIFETIME_MS);
process.on('SIGTERM', () => void stop());
process.stdin.on('end', () => void stop());
process.stdin.resume();

process.stdout.write(
  `${JSON.stringify({
    url: provider.url,
    openaiBaseUrl: provider.openaiBaseUrl,
  })}\n`,
);
