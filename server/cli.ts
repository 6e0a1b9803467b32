/**
 * Entry point of the `tokenwise` command (bin/tokenwise.js runs it through
 * tsx). It wires the process's streams and signals to runCli.
 */
import { once } from 'node:events';
import { runCli } from './cli/run-cli';

/** Resolves with the name of the first SIGINT or SIGTERM; a second one exits at once. */
function waitForStopSignal(): Promise<string> {
  return new Promise((resolve) => {
    const onSignal = (signal: string) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.once('SIGINT', () => process.exit(130));
      process.once('SIGTERM', () => process.exit(143));
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

const exitCode = await runCli(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  waitForStopSignal,
});

// Let buffered output drain before the process ends.
if (process.stdout.writableNeedDrain) {
  await once(process.stdout, 'drain');
}
process.exitCode = exitCode;
