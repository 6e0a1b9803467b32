/**
 * `npm run zip` for real: both store zips and the sources zip built by
 * `wxt zip`, with provider keys in the environment, must pass every store
 * check and agree with PRIVACY.md.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import JSZip from 'jszip';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPOSITORY_ROOT } from '../../scripts/harness/backend';
import {
  buildStoreZips,
  readPackageVersion,
  type StoreZips,
} from '../../scripts/zip';
import type { ZipProblem } from '../../scripts/zip-check';

// Values that would be disastrous in a published zip; the build sees them.
const PROBE_SECRETS = {
  OPENAI_API_KEY: 'sk-store-probe-openai-0123456789',
  TOKENWISE_ADMIN_KEY: 'store-probe-admin-key-0123456789',
  TOKENWISE_INSTALL_SECRET: 'store-probe-install-secret-0123456789abcdef',
};

let outDir: string;
let zips: StoreZips;
let problems: ZipProblem[];
const savedEnv: Record<string, string | undefined> = {};

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), 'tokenwise-store-zip-'));
  for (const [name, value] of Object.entries(PROBE_SECRETS)) {
    savedEnv[name] = process.env[name];
    process.env[name] = value;
  }
  ({ zips, problems } = await buildStoreZips({
    backendUrl: 'http://127.0.0.1:8787',
    outDir,
  }));
});

afterAll(() => {
  for (const [name, value] of Object.entries(savedEnv)) {
    if (value === undefined) {
      delete process.env[name];
    } else {
      process.env[name] = value;
    }
  }
  rmSync(outDir, { recursive: true, force: true });
});

async function readZip(file: string): Promise<JSZip> {
  return JSZip.loadAsync(readFileSync(file));
}

describe('npm run zip', () => {
  it('passes every store check', () => {
    expect(problems).toEqual([]);
  });

  it('names the zips with the package version', () => {
    const version = readPackageVersion();
    expect(zips.chrome.endsWith(`tokenwise-${version}-chrome.zip`)).toBe(true);
    expect(zips.firefox.endsWith(`tokenwise-${version}-firefox.zip`)).toBe(
      true,
    );
    expect(zips.sources.endsWith(`tokenwise-${version}-sources.zip`)).toBe(
      true,
    );
  });

  it('keeps secrets out of every zip', async () => {
    for (const file of Object.values(zips)) {
      const zip = await readZip(file);
      for (const entry of Object.values(zip.files)) {
        if (entry.dir) {
          continue;
        }
        const text = await entry.async('string');
        for (const secret of Object.values(PROBE_SECRETS)) {
          expect({ file: entry.name, leaks: text.includes(secret) }).toEqual({
            file: entry.name,
            leaks: false,
          });
        }
      }
    }
  });

  it('leaves tests and local data out of the sources', async () => {
    const paths = Object.keys((await readZip(zips.sources)).files);
    const unwanted = paths.filter((path) =>
      /^(tests|data|test-results|demo-output|bench|store|node_modules|\.output)\/|^\.env/.test(
        path,
      ),
    );
    expect(unwanted).toEqual([]);
    expect(paths).toContain('lib/router.ts');
    expect(paths).toContain('PRIVACY.md');
  });

  it('declares in Firefox what PRIVACY.md says', async () => {
    const zip = await readZip(zips.firefox);
    const manifest = JSON.parse(
      await zip.file('manifest.json')!.async('string'),
    ) as {
      browser_specific_settings: {
        gecko: { data_collection_permissions: { required: string[] } };
      };
    };
    const declared =
      manifest.browser_specific_settings.gecko.data_collection_permissions
        .required;
    const privacy = readFileSync(join(REPOSITORY_ROOT, 'PRIVACY.md'), 'utf8');
    expect(declared.length).toBeGreaterThan(0);
    for (const type of declared) {
      expect(privacy).toContain(`\`${type}\``);
    }
  });
});
