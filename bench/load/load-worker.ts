/**
 * Performs one load run with autocannon in its own process, so the load
 * generator does not share an event loop with the servers it measures.
 * Reads a LoadPlan as JSON from its first argument and prints one
 * LoadResult as JSON on standard output.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { summarize } from '../stats';
import {
  buildRequestBody,
  FIRST_TOKEN_MARKERS,
  type LoadPlan,
  type LoadResult,
} from './load-plan';

/** Seconds after which autocannon gives up on one request. */
const REQUEST_TIMEOUT_SECONDS = 10;

interface Recorder {
  measuring: boolean;
  firstToken: number[];
  fullResponse: number[];
  failed: number;
}

const plan = JSON.parse(process.argv[2] ?? '{}') as LoadPlan;
const recorder: Recorder = {
  measuring: false,
  firstToken: [],
  fullResponse: [],
  failed: 0,
};
const runLabel = randomUUID().slice(0, 8);
let sequence = 0;

if (plan.warmupSeconds > 0) {
  await runAutocannon(plan.warmupSeconds);
}
recorder.measuring = true;
const cpuAtStart = readCpuMs(plan.cpuProcessId);
const result = await runAutocannon(plan.durationSeconds);
const cpuAtEnd = readCpuMs(plan.cpuProcessId);
recorder.measuring = false;

const output: LoadResult = {
  completed: recorder.fullResponse.length,
  failed: recorder.failed + result.errors + result.timeouts,
  achievedRate: recorder.fullResponse.length / result.duration,
  firstTokenMs: summarize(recorder.firstToken),
  fullResponseMs: summarize(recorder.fullResponse),
  targetCpuMs:
    cpuAtStart === undefined || cpuAtEnd === undefined
      ? undefined
      : cpuAtEnd - cpuAtStart,
};
process.stdout.write(`${JSON.stringify(output)}\n`);

/**
 * Reads the CPU time (user plus system) a process has used, in
 * milliseconds, from /proc/PID/stat; undefined without a process id or
 * where /proc is missing.
 */
function readCpuMs(processId: number | undefined): number | undefined {
  if (processId === undefined) {
    return undefined;
  }
  let stat: string;
  try {
    stat = readFileSync(`/proc/${processId}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The fields start after the command name, which is in brackets and may
  // contain spaces. Of them, utime and stime are the 12th and 13th, in
  // clock ticks of 10 ms on Linux (USER_HZ is 100).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return Number.isFinite(ticks) ? ticks * 10 : undefined;
}

function runAutocannon(seconds: number): Promise<autocannon.Result> {
  const marker = FIRST_TOKEN_MARKERS[plan.bodyFormat];
  return autocannon({
    url: plan.url,
    method: 'POST',
    connections: plan.connections,
    overallRate: plan.requestsPerSecond,
    duration: seconds,
    timeout: REQUEST_TIMEOUT_SECONDS,
    headers: { 'content-type': 'application/json', ...plan.headers },
    requests: [
      {
        setupRequest: (request) => {
          sequence += 1;
          const token = plan.bearerTokens[sequence % plan.bearerTokens.length];
          return {
            ...request,
            body: buildRequestBody(plan, runLabel, sequence),
            headers: {
              ...request.headers,
              ...(token ? { authorization: `Bearer ${token}` } : {}),
            },
          };
        },
      },
    ],
    // Each connection has one request in flight, so one set of timestamps
    // per connection is enough.
    setupClient: (client) => {
      let sentAt = 0;
      let firstTokenAt: number | undefined;
      let seen = '';
      client.on('request', () => {
        sentAt = performance.now();
        firstTokenAt = undefined;
        seen = '';
      });
      client.on('body', (chunk: Buffer) => {
        if (firstTokenAt !== undefined) {
          return;
        }
        // Keeps a tail of the previous chunk in case the marker is split.
        seen = seen.slice(-64) + chunk.toString('utf8');
        if (marker.test(seen)) {
          firstTokenAt = performance.now();
        }
      });
      client.on('response', (statusCode: number) => {
        if (!recorder.measuring) {
          return;
        }
        if (statusCode < 200 || statusCode > 299) {
          recorder.failed += 1;
          return;
        }
        const now = performance.now();
        recorder.fullResponse.push(now - sentAt);
        recorder.firstToken.push(
          firstTokenAt === undefined ? Number.NaN : firstTokenAt - sentAt,
        );
      });
    },
  });
}
