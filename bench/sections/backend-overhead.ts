/**
 * The load benchmark: the same streamed chat requests sent straight to the
 * fake provider, through the Tokenwise backend (SQLite, and PostgreSQL with
 * Redis) and through Portkey's gateway, at fixed rates and flat out.
 * The difference from the direct calls is the latency each one adds.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  startBackend,
  type RunningBackend,
} from '../../scripts/harness/backend';
import type { LoadPlan, LoadResult } from '../load/load-plan';
import { runLoad } from '../load/run-load';
import {
  startFakeProviderProcess,
  startPortkey,
} from '../servers/child-process';
import {
  prepareScaleOutStorage,
  type ScaleOutStorage,
} from '../servers/databases';

/** The model both the backend and the direct calls ask the fake for. */
const MODEL = 'gpt-5-mini';

/** Installs registered per backend; requests use their tokens in turn. */
const INSTALL_COUNT = 64;

/** Connections of every run; at a fixed rate autocannon spreads it over them. */
const CONNECTIONS = 16;

export type TargetName =
  'direct' | 'tokenwise-sqlite' | 'tokenwise-postgres' | 'portkey';

/** A request rate in requests per second, or `max` for as fast as possible. */
export type Rate = number | 'max';

export interface LoadRun {
  repetition: number;
  rate: Rate;
  target: TargetName;
  result?: LoadResult;
  error?: string;
  /** The machine's one-minute load average when the run ended. */
  loadAverage?: number;
}

export interface BackendOverheadResult {
  rates: Rate[];
  repetitions: number;
  durationSeconds: number;
  warmupSeconds: number;
  connections: number;
  installCount: number;
  runs: LoadRun[];
  /** Targets that could not start, with the reason. */
  skipped: Partial<Record<TargetName, string>>;
  /** Versions of the PostgreSQL and Redis servers, when they were used. */
  storageVersions?: string;
}

export interface BackendOverheadOptions {
  quick: boolean;
  logDir: string;
  /** Called with a line of progress for the console. */
  report: (line: string) => void;
}

interface Target {
  name: TargetName;
  plan: Omit<
    LoadPlan,
    'connections' | 'requestsPerSecond' | 'warmupSeconds' | 'durationSeconds'
  >;
}

/**
 * Starts the fake provider, the backends and Portkey, runs every target at
 * every rate for several repetitions (interleaved, so slow drift in the
 * machine's load hits all targets alike), then stops everything.
 */
export async function benchmarkBackendOverhead(
  options: BackendOverheadOptions,
): Promise<BackendOverheadResult> {
  const rates: Rate[] = options.quick ? [500, 'max'] : [100, 500, 1_000, 'max'];
  const repetitions = options.quick ? 1 : 3;
  const durationSeconds = options.quick ? 2 : 6;
  const warmupSeconds = options.quick ? 0.5 : 2;
  const skipped: BackendOverheadResult['skipped'] = {};
  const stoppers: Array<() => Promise<void>> = [];

  try {
    const storageVersions: { value?: string } = {};
    const targets = await startTargets({
      ...options,
      skipped,
      stoppers,
      storageVersions,
    });
    const runs: LoadRun[] = [];
    for (let repetition = 1; repetition <= repetitions; repetition++) {
      for (const rate of rates) {
        for (const target of targets) {
          options.report(
            `  load: run ${repetition}/${repetitions}, ${rate === 'max' ? 'max rate' : `${rate} req/s`}, ${target.name}`,
          );
          const run: LoadRun = { repetition, rate, target: target.name };
          try {
            run.result = await runLoad({
              ...target.plan,
              connections: CONNECTIONS,
              requestsPerSecond: rate === 'max' ? undefined : rate,
              warmupSeconds,
              durationSeconds,
            });
          } catch (error) {
            run.error = error instanceof Error ? error.message : String(error);
          }
          run.loadAverage = Math.round((loadavg()[0] ?? 0) * 100) / 100;
          runs.push(run);
        }
      }
    }
    return {
      rates,
      repetitions,
      durationSeconds,
      warmupSeconds,
      connections: CONNECTIONS,
      installCount: INSTALL_COUNT,
      runs,
      skipped,
      storageVersions: storageVersions.value,
    };
  } finally {
    for (const stop of stoppers.reverse()) {
      await stop().catch((error: unknown) =>
        options.report(`  could not stop a load server: ${String(error)}`),
      );
    }
  }
}

async function startTargets(
  options: BackendOverheadOptions & {
    skipped: BackendOverheadResult['skipped'];
    stoppers: Array<() => Promise<void>>;
    storageVersions: { value?: string };
  },
): Promise<Target[]> {
  const { logDir, skipped, stoppers } = options;
  const fake = await startFakeProviderProcess(
    join(logDir, 'fake-provider.log'),
  );
  stoppers.push(() => fake.child.stop());
  const providerUrl = fake.urls.openaiBaseUrl;
  const targets: Target[] = [
    {
      name: 'direct',
      plan: {
        url: `${providerUrl}/chat/completions`,
        bodyFormat: 'openai',
        model: MODEL,
        headers: {},
        bearerTokens: ['bench-openai-key'],
      },
    },
  ];

  const sqliteDir = mkdtempSync(join(tmpdir(), 'tokenwise-bench-'));
  stoppers.push(async () =>
    rmSync(sqliteDir, { recursive: true, force: true }),
  );
  const sqlite = await startLoadBackend({
    providerUrl,
    dataDir: sqliteDir,
    logFile: join(logDir, 'backend-sqlite.log'),
    env: {},
  });
  stoppers.push(() => sqlite.stop());
  targets.push({
    name: 'tokenwise-sqlite',
    plan: await planForBackend(sqlite),
  });

  const storage = await prepareScaleOutStorage();
  if ('unavailable' in storage) {
    skipped['tokenwise-postgres'] = storage.unavailable;
  } else {
    options.storageVersions.value = storage.versions;
    stoppers.push(() => storage.remove());
    const postgresDir = mkdtempSync(join(tmpdir(), 'tokenwise-bench-'));
    stoppers.push(async () =>
      rmSync(postgresDir, { recursive: true, force: true }),
    );
    const postgres = await startLoadBackend({
      providerUrl,
      dataDir: postgresDir,
      logFile: join(logDir, 'backend-postgres.log'),
      env: scaleOutEnv(storage),
    });
    stoppers.push(() => postgres.stop());
    targets.push({
      name: 'tokenwise-postgres',
      plan: await planForBackend(postgres),
    });
  }

  try {
    const portkey = await startPortkey(join(logDir, 'portkey.log'));
    stoppers.push(() => portkey.child.stop());
    await checkPortkeyStreams(portkey.url, providerUrl);
    targets.push({
      name: 'portkey',
      plan: {
        url: `${portkey.url}/v1/chat/completions`,
        cpuProcessId: portkey.child.process.pid,
        bodyFormat: 'openai',
        model: MODEL,
        headers: {
          'x-portkey-provider': 'openai',
          'x-portkey-custom-host': providerUrl,
        },
        bearerTokens: ['bench-openai-key'],
      },
    });
  } catch (error) {
    skipped.portkey = error instanceof Error ? error.message : String(error);
  }
  return targets;
}

function scaleOutEnv(storage: ScaleOutStorage): Record<string, string> {
  return {
    TOKENWISE_DATABASE_URL: storage.databaseUrl,
    TOKENWISE_REDIS_URL: storage.redisUrl,
    TOKENWISE_REDIS_KEY_PREFIX: storage.redisKeyPrefix,
  };
}

/**
 * Starts a backend whose both tiers call the fake provider, with an
 * allowance and rate limits far above what the load can use, so no
 * request is rejected for its quota.
 */
function startLoadBackend(options: {
  providerUrl: string;
  dataDir: string;
  logFile: string;
  env: Record<string, string>;
}): Promise<RunningBackend> {
  return startBackend({
    dataDir: options.dataDir,
    logFile: options.logFile,
    env: {
      OPENAI_API_KEY: 'bench-openai-key',
      OPENAI_BASE_URL: options.providerUrl,
      TOKENWISE_CHEAP_MODEL: `openai:${MODEL}`,
      TOKENWISE_PREMIUM_MODEL: 'openai:gpt-5.5',
      TOKENWISE_FREE_TOKENS: String(10 ** 15),
      TOKENWISE_TOKENS_PER_MINUTE: String(10 ** 15),
      TOKENWISE_REQUESTS_PER_MINUTE: '1000000',
      TOKENWISE_REGISTRATIONS_PER_HOUR: '1000000',
      ...options.env,
    },
  });
}

async function planForBackend(
  backend: RunningBackend,
): Promise<Target['plan']> {
  const tokens: string[] = [];
  for (let index = 0; index < INSTALL_COUNT; index++) {
    const response = await fetch(`${backend.url}/v1/installs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ extensionVersion: 'bench', browser: 'bench' }),
    });
    if (!response.ok) {
      throw new Error(
        `POST /v1/installs failed with status ${response.status}: ${await response.text()}`,
      );
    }
    const body = (await response.json()) as { token: string };
    tokens.push(body.token);
  }
  return {
    url: `${backend.url}/v1/chat`,
    bodyFormat: 'tokenwise',
    cpuProcessId: backend.process.pid,
    headers: {},
    bearerTokens: tokens,
  };
}

// One streamed request through the gateway before the load, so a gateway
// that cannot stream is reported with its error instead of as 100% failures.
async function checkPortkeyStreams(
  portkeyUrl: string,
  providerUrl: string,
): Promise<void> {
  const response = await fetch(`${portkeyUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: 'Bearer bench-openai-key',
      'x-portkey-provider': 'openai',
      'x-portkey-custom-host': providerUrl,
    },
    body: JSON.stringify({
      model: MODEL,
      stream: true,
      messages: [{ role: 'user', content: 'Check the stream.' }],
    }),
  });
  const text = await response.text();
  if (!response.ok || !/"content":"[^"]/.test(text)) {
    throw new Error(
      `Portkey's gateway did not stream an answer (status ${response.status}): ${text.slice(0, 300)}`,
    );
  }
}
