/**
 * The store zip checks on zips built here, one flaw at a time, so each
 * check is seen to fail. The real `wxt zip` output is checked in
 * tests/e2e/store-zip.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import JSZip from 'jszip';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { REPOSITORY_ROOT } from '../../../scripts/harness/backend';
import {
  checkExtensionZip,
  checkSourcesZip,
  SIZE_LIMITS,
  type StoreBrowser,
} from '../../../scripts/zip-check';
import { checkBackendUrl, listSecretValues } from '../../../scripts/zip';

const VERSION = '1.2.3';
const SECRET = 'sk-test-0123456789abcdef';

type Files = Record<string, string | Buffer>;

function readIcon(size: number): Buffer {
  return readFileSync(join(REPOSITORY_ROOT, `public/icon/${size}.png`));
}

function baseManifest(browser: StoreBrowser): Record<string, unknown> {
  const icons = Object.fromEntries(
    [16, 32, 48, 96, 128].map((size) => [String(size), `icon/${size}.png`]),
  );
  const common = {
    name: '__MSG_extensionName__',
    description: '__MSG_extensionDescription__',
    version: VERSION,
    default_locale: 'en',
    icons,
    options_ui: { page: 'options.html' },
  };
  if (browser === 'chrome') {
    return {
      ...common,
      manifest_version: 3,
      background: { service_worker: 'background.js' },
      action: { default_popup: 'popup.html' },
      side_panel: { default_path: 'sidepanel.html' },
    };
  }
  return {
    ...common,
    manifest_version: 2,
    background: { scripts: ['background.js'] },
    browser_action: { default_popup: 'popup.html' },
    sidebar_action: { default_panel: 'sidepanel.html' },
    browser_specific_settings: {
      gecko: {
        id: 'tokenwise@tokenwise.invalid',
        data_collection_permissions: { required: ['websiteContent'] },
      },
    },
  };
}

function baseFiles(manifest: Record<string, unknown>): Files {
  return {
    'manifest.json': JSON.stringify(manifest),
    '_locales/en/messages.json': JSON.stringify({
      extensionName: { message: 'Tokenwise' },
      extensionDescription: { message: 'An assistant in the side panel.' },
    }),
    'background.js': 'console.log("background");',
    'popup.html': '<!doctype html>',
    'sidepanel.html': '<!doctype html>',
    'options.html': '<!doctype html>',
    ...Object.fromEntries(
      [16, 32, 48, 96, 128].map((size) => [`icon/${size}.png`, readIcon(size)]),
    ),
  };
}

let directory: string;

beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'tokenwise-zip-check-'));
});
afterEach(() => rmSync(directory, { recursive: true, force: true }));

async function writeZip(files: Files, store = false): Promise<string> {
  const zip = new JSZip();
  for (const [path, content] of Object.entries(files)) {
    zip.file(path, content);
  }
  const file = join(directory, `${randomBytes(4).toString('hex')}.zip`);
  writeFileSync(
    file,
    await zip.generateAsync({
      type: 'nodebuffer',
      compression: store ? 'STORE' : 'DEFLATE',
    }),
  );
  return file;
}

async function check(browser: StoreBrowser, files: Files): Promise<string[]> {
  const problems = await checkExtensionZip({
    file: await writeZip(files),
    browser,
    expectedVersion: VERSION,
    secrets: [SECRET],
  });
  return problems.map((problem) => problem.message);
}

describe('checkExtensionZip', () => {
  it.each(['chrome', 'firefox'] as const)(
    'passes a complete %s zip',
    async (browser) => {
      expect(await check(browser, baseFiles(baseManifest(browser)))).toEqual(
        [],
      );
    },
  );

  const flaws: Array<{
    name: string;
    browser: StoreBrowser;
    change: (files: Files, manifest: Record<string, unknown>) => Files;
    expected: RegExp;
  }> = [
    {
      name: 'source map file',
      browser: 'chrome',
      change: (files) => ({ ...files, 'background.js.map': '{}' }),
      expected: /source map/,
    },
    {
      name: 'sourceMappingURL comment',
      browser: 'chrome',
      change: (files) => ({
        ...files,
        'background.js': 'x();\n//# sourceMappingURL=background.js.map',
      }),
      expected: /points to a source map/,
    },
    {
      name: 'test file',
      browser: 'chrome',
      change: (files) => ({ ...files, 'chunks/router.test.js': 'x' }),
      expected: /must not be published/,
    },
    {
      name: 'dotenv file',
      browser: 'firefox',
      change: (files) => ({ ...files, '.env': 'A=1' }),
      expected: /must not be published/,
    },
    {
      name: 'secret in a bundle',
      browser: 'chrome',
      change: (files) => ({
        ...files,
        'background.js': `const key = "${SECRET}";`,
      }),
      expected: /configured secret/,
    },
    {
      name: 'missing manifest',
      browser: 'chrome',
      change: (files) => {
        const { ['manifest.json']: _removed, ...rest } = files;
        return rest;
      },
      expected: /manifest\.json is missing/,
    },
    {
      name: 'manifest that is not JSON',
      browser: 'chrome',
      change: (files) => ({ ...files, 'manifest.json': '{' }),
      expected: /not valid JSON/,
    },
    {
      name: 'wrong manifest version',
      browser: 'firefox',
      change: (files, manifest) => ({
        ...files,
        'manifest.json': JSON.stringify({ ...manifest, manifest_version: 3 }),
      }),
      expected: /manifest_version is 3/,
    },
    {
      name: 'version other than package.json',
      browser: 'chrome',
      change: (files, manifest) => ({
        ...files,
        'manifest.json': JSON.stringify({ ...manifest, version: '9.9.9' }),
      }),
      expected: /package\.json says 1\.2\.3/,
    },
    {
      name: 'description over 132 characters',
      browser: 'chrome',
      change: (files) => ({
        ...files,
        '_locales/en/messages.json': JSON.stringify({
          extensionName: { message: 'Tokenwise' },
          extensionDescription: { message: 'x'.repeat(133) },
        }),
      }),
      expected: /133 characters/,
    },
    {
      name: 'message missing from the locale',
      browser: 'chrome',
      change: (files, manifest) => ({
        ...files,
        'manifest.json': JSON.stringify({
          ...manifest,
          name: '__MSG_missingName__',
        }),
      }),
      expected: /__MSG_missingName__ has no message/,
    },
    {
      name: 'missing service worker file',
      browser: 'chrome',
      change: (files) => {
        const { ['background.js']: _removed, ...rest } = files;
        return rest;
      },
      expected: /names background\.js/,
    },
    {
      name: 'missing side panel',
      browser: 'chrome',
      change: (files, manifest) => ({
        ...files,
        'manifest.json': JSON.stringify({ ...manifest, side_panel: {} }),
      }),
      expected: /no side_panel/,
    },
    {
      name: 'missing data collection permissions',
      browser: 'firefox',
      change: (files, manifest) => ({
        ...files,
        'manifest.json': JSON.stringify({
          ...manifest,
          browser_specific_settings: { gecko: { id: 'a@b.invalid' } },
        }),
      }),
      expected: /no data_collection_permissions/,
    },
    {
      name: 'unknown data collection type',
      browser: 'firefox',
      change: (files, manifest) => ({
        ...files,
        'manifest.json': JSON.stringify({
          ...manifest,
          browser_specific_settings: {
            gecko: {
              id: 'a@b.invalid',
              data_collection_permissions: { required: ['questions'] },
            },
          },
        }),
      }),
      expected: /"questions" is not a Firefox data collection type/,
    },
    {
      name: 'missing 96 px icon',
      browser: 'firefox',
      change: (files) => {
        const { ['icon/96.png']: _removed, ...rest } = files;
        return rest;
      },
      expected: /96 px icon icon\/96\.png is not in the zip/,
    },
    {
      name: 'icon of the wrong size',
      browser: 'chrome',
      change: (files) => ({ ...files, 'icon/128.png': readIcon(96) }),
      expected: /icon\/128\.png is 96x96/,
    },
  ];

  it.each(flaws)('rejects a $name', async ({ browser, change, expected }) => {
    const manifest = baseManifest(browser);
    const messages = await check(
      browser,
      change(baseFiles(manifest), manifest),
    );
    expect(messages.some((message) => expected.test(message))).toBe(true);
  });

  it('rejects a zip over the size budget', async () => {
    const files = {
      ...baseFiles(baseManifest('chrome')),
      // Random bytes do not compress, so the zip grows past the budget.
      'padding.bin': randomBytes(SIZE_LIMITS.chrome.budgetBytes + 1024),
    };
    const problems = await checkExtensionZip({
      file: await writeZip(files, true),
      browser: 'chrome',
      expectedVersion: VERSION,
      secrets: [],
    });
    expect(problems.map((problem) => problem.message).join('\n')).toMatch(
      /over the budget of 10485760/,
    );
  });
});

describe('checkSourcesZip', () => {
  const needed: Files = {
    'package.json': '{}',
    'package-lock.json': '{}',
    'wxt.config.ts': '',
    'tsconfig.json': '{}',
    'entrypoints/background.ts': '',
  };

  async function checkSources(files: Files): Promise<string[]> {
    const problems = await checkSourcesZip({
      file: await writeZip(files),
      secrets: [SECRET],
    });
    return problems.map((problem) => problem.message);
  }

  it('passes the files a build needs', async () => {
    expect(await checkSources(needed)).toEqual([]);
  });

  it.each([
    ['local database', 'data/tokenwise.db'],
    ['install secret', 'data/install-secret'],
    ['test file', 'tests/server/chat.test.ts'],
    ['screenshot', 'test-results/screenshots/panel.png'],
    ['dotenv file', '.env.production'],
  ])('rejects a %s', async (_name, path) => {
    const messages = await checkSources({ ...needed, [path]: 'x' });
    expect(messages.join('\n')).toContain(path);
  });

  it('rejects a missing package-lock.json', async () => {
    const { ['package-lock.json']: _removed, ...rest } = needed;
    expect(await checkSources(rest)).toEqual([
      'package-lock.json is missing, so a reviewer cannot build from it.',
    ]);
  });

  it('rejects a secret in a source file', async () => {
    const messages = await checkSources({
      ...needed,
      'server/config.ts': `export const key = '${SECRET}';`,
    });
    expect(messages.join('\n')).toMatch(/configured secret/);
  });
});

describe('checkBackendUrl', () => {
  it.each([
    [undefined, false, /WXT_BACKEND_URL is not set/],
    ['http://127.0.0.1:8787', false, /local address/],
    ['http://tokenwise.invalid', false, /not https/],
    ['not a url', true, /is not a URL/],
  ])('rejects %s (local allowed: %s)', (value, allowLocal, expected) => {
    expect(() => checkBackendUrl(value, allowLocal)).toThrow(expected);
  });

  it.each([
    [undefined, true, 'http://127.0.0.1:8787'],
    ['http://127.0.0.1:9000/', true, 'http://127.0.0.1:9000'],
    ['https://tokenwise.invalid/api', false, 'https://tokenwise.invalid'],
  ])('accepts %s (local allowed: %s)', (value, allowLocal, expected) => {
    expect(checkBackendUrl(value, allowLocal)).toBe(expected);
  });
});

describe('listSecretValues', () => {
  it('lists set secret variables only', () => {
    const values = listSecretValues({
      OPENAI_API_KEY: 'sk-openai-0123456789',
      TOKENWISE_ADMIN_KEY: 'admin-key-0123456789',
      TOKENWISE_FREE_TOKENS: '5000',
      GEMINI_API_KEY: '',
    });
    expect(values).toContain('sk-openai-0123456789');
    expect(values).toContain('admin-key-0123456789');
    expect(values).not.toContain('5000');
    expect(values).not.toContain('');
  });
});
