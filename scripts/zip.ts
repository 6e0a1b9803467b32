/**
 * `npm run zip`: builds the store archives with `wxt zip` for Chrome and
 * for Firefox (which also writes the sources archive for add-on review),
 * then checks them with scripts/zip-check.ts and exits with 1 on any
 * problem.
 *
 * The extension talks only to the backend it is built for, so a store
 * build needs WXT_BACKEND_URL set to the published backend's https://
 * origin. `--local-backend` allows http://127.0.0.1, for tests and trials.
 * TOKENWISE_BUILD_DIR moves the output from .output/ elsewhere.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { CONFIG_VARIABLES } from '../server/config-variables';
import { REPOSITORY_ROOT } from './harness/backend';
import { runCommand } from './harness/browser';
import {
  checkExtensionZip,
  checkSourcesZip,
  type StoreBrowser,
  type ZipProblem,
} from './zip-check';

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

export interface StoreZips {
  chrome: string;
  firefox: string;
  sources: string;
}

/** Returns the paths `wxt zip` writes for a package version. */
export function listStoreZips(outDir: string, version: string): StoreZips {
  return {
    chrome: join(outDir, `tokenwise-${version}-chrome.zip`),
    firefox: join(outDir, `tokenwise-${version}-firefox.zip`),
    sources: join(outDir, `tokenwise-${version}-sources.zip`),
  };
}

/** Reads the version from package.json, which the manifests carry. */
export function readPackageVersion(): string {
  const packageJson = JSON.parse(
    readFileSync(join(REPOSITORY_ROOT, 'package.json'), 'utf8'),
  ) as { version: string };
  return packageJson.version;
}

/**
 * Checks that the backend URL suits a store build. Throws with the fix
 * when it is unset or not https, unless local backends are allowed.
 */
export function checkBackendUrl(
  value: string | undefined,
  allowLocal: boolean,
): string {
  if (value === undefined || value === '') {
    if (allowLocal) {
      return 'http://127.0.0.1:8787';
    }
    throw new Error(
      'WXT_BACKEND_URL is not set, so the zips would talk to http://127.0.0.1:8787. Set it to your backend, e.g. WXT_BACKEND_URL=https://api.example.com npm run zip, or pass --local-backend for a local trial.',
    );
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch (error) {
    throw new Error(`WXT_BACKEND_URL "${value}" is not a URL.`, {
      cause: error,
    });
  }
  const local = LOCAL_HOSTS.has(url.hostname);
  if (local && !allowLocal) {
    throw new Error(
      `WXT_BACKEND_URL "${value}" is a local address that users cannot reach. Use your published backend, or pass --local-backend for a local trial.`,
    );
  }
  if (!local && url.protocol !== 'https:') {
    throw new Error(
      `WXT_BACKEND_URL "${value}" is not https://; the stores' users need an encrypted connection to the backend.`,
    );
  }
  return url.origin;
}

/**
 * Lists the values of the backend's secret variables, from the
 * environment and the repository's .env file, which no zip may contain.
 */
export function listSecretValues(env: NodeJS.ProcessEnv): string[] {
  let fromFile: Record<string, string> = {};
  try {
    fromFile = parseDotenv(readFileSync(join(REPOSITORY_ROOT, '.env')));
  } catch {
    // No .env file: only the environment can hold secrets.
  }
  return CONFIG_VARIABLES.filter((variable) => variable.secret)
    .flatMap((variable) => [env[variable.name], fromFile[variable.name]])
    .filter((value): value is string => value !== undefined && value !== '');
}

/** Runs `wxt zip` for both browsers, then checks every zip. */
export async function buildStoreZips(options: {
  backendUrl: string;
  outDir: string;
}): Promise<{ zips: StoreZips; problems: ZipProblem[] }> {
  for (const browser of ['chrome', 'firefox'] satisfies StoreBrowser[]) {
    await runCommand('npx', ['wxt', 'zip', '-b', browser], {
      WXT_BACKEND_URL: options.backendUrl,
      TOKENWISE_BUILD_DIR: options.outDir,
    });
  }

  const version = readPackageVersion();
  const zips = listStoreZips(options.outDir, version);
  const secrets = listSecretValues(process.env);
  const problems = [
    ...(await checkExtensionZip({
      file: zips.chrome,
      browser: 'chrome',
      expectedVersion: version,
      secrets,
    })),
    ...(await checkExtensionZip({
      file: zips.firefox,
      browser: 'firefox',
      expectedVersion: version,
      secrets,
    })),
    ...(await checkSourcesZip({ file: zips.sources, secrets })),
  ];
  return { zips, problems };
}

async function main(): Promise<void> {
  const allowLocal = process.argv.includes('--local-backend');
  const backendUrl = checkBackendUrl(process.env.WXT_BACKEND_URL, allowLocal);
  const outDir = resolve(
    REPOSITORY_ROOT,
    process.env.TOKENWISE_BUILD_DIR || '.output',
  );

  console.log(`Building the store zips for ${backendUrl} into ${outDir}`);
  const { zips, problems } = await buildStoreZips({ backendUrl, outDir });
  for (const file of Object.values(zips)) {
    console.log(`wrote ${file}`);
  }
  if (problems.length > 0) {
    for (const problem of problems) {
      console.error(`${problem.zip}: ${problem.message}`);
    }
    process.exitCode = 1;
    return;
  }
  console.log('All zips passed the store checks.');
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1])) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
