/**
 * `npx tsx bench/profile/profile-backend.ts [seconds] [rate] [postgres]`
 * starts the fake provider and a backend under `node --cpu-prof`, on
 * SQLite, or on PostgreSQL with Redis when the third argument is
 * `postgres`. It loads
 * the backend with autocannon at `rate` requests per second (flat out when
 * omitted) for `seconds` (10 by default), stops it, and prints the
 * functions with the most self and total time. The .cpuprofile file opens
 * in Chrome DevTools.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBackend } from '../../scripts/harness/backend';
import { runLoad } from '../load/run-load';
import { startFakeProviderProcess } from '../servers/child-process';
import { prepareScaleOutStorage } from '../servers/databases';
import { summarizeCpuProfile } from './summarize-cpu-profile';

const seconds = Number(process.argv[2] ?? 10);
const rate =
  process.argv[3] === undefined || process.argv[3] === 'max'
    ? undefined
    : Number(process.argv[3]);
const storage =
  process.argv[4] === 'postgres' ? await prepareScaleOutStorage() : undefined;
if (storage !== undefined && 'unavailable' in storage) {
  throw new Error(`PostgreSQL or Redis is missing: ${storage.unavailable}`);
}
const workDir = mkdtempSync(join(tmpdir(), 'tokenwise-profile-'));
const profileDir = join(workDir, 'profiles');

const fake = await startFakeProviderProcess(join(workDir, 'fake.log'));
const spawnedAt = performance.now();
const backend = await startBackend({
  dataDir: join(workDir, 'data'),
  logFile: join(workDir, 'backend.log'),
  nodeOptions: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`],
  env: {
    OPENAI_API_KEY: 'bench-openai-key',
    OPENAI_BASE_URL: fake.urls.openaiBaseUrl,
    TOKENWISE_CHEAP_MODEL: 'openai:gpt-5-mini',
    TOKENWISE_PREMIUM_MODEL: 'openai:gpt-5.5',
    TOKENWISE_FREE_TOKENS: String(10 ** 15),
    TOKENWISE_TOKENS_PER_MINUTE: String(10 ** 15),
    TOKENWISE_REQUESTS_PER_MINUTE: '1000000',
    TOKENWISE_REGISTRATIONS_PER_HOUR: '1000000',
    ...(storage === undefined
      ? {}
      : {
          TOKENWISE_DATABASE_URL: storage.databaseUrl,
          TOKENWISE_REDIS_URL: storage.redisUrl,
          TOKENWISE_REDIS_KEY_PREFIX: storage.redisKeyPrefix,
        }),
  },
});

let loadStartedAt: number | undefined;
try {
  const tokens: string[] = [];
  for (let index = 0; index < 16; index++) {
    const response = await fetch(`${backend.url}/v1/installs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ extensionVersion: 'bench', browser: 'bench' }),
    });
    tokens.push(((await response.json()) as { token: string }).token);
  }
  loadStartedAt = performance.now();
  const result = await runLoad({
    url: `${backend.url}/v1/chat`,
    bodyFormat: 'tokenwise',
    headers: {},
    bearerTokens: tokens,
    connections: 16,
    requestsPerSecond: rate,
    warmupSeconds: 1,
    durationSeconds: seconds,
  });
  console.log(JSON.stringify(result));
} finally {
  await backend.stop();
  await fake.child.stop();
  await storage?.remove();
}

const profiles = readdirSync(profileDir).filter((name) =>
  name.endsWith('.cpuprofile'),
);
for (const name of profiles) {
  const file = join(profileDir, name);
  console.log(`\n${file}`);
  // Start-up and registration are left out, so the figures are the load's.
  const skipMs = (loadStartedAt ?? spawnedAt) - spawnedAt + 1_000;
  console.log(
    summarizeCpuProfile(JSON.parse(readFileSync(file, 'utf8')), { skipMs }),
  );
}
