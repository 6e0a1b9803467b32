import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../../..');
const run = promisify(execFile);

/** Builds the extension for one browser into a temporary folder. */
async function build(browser: 'chrome' | 'firefox'): Promise<string> {
  const outDir = mkdtempSync(join(tmpdir(), `tokenwise-${browser}-build-`));
  await run('npx', ['wxt', 'build', '-b', browser], {
    cwd: ROOT,
    env: {
      ...process.env,
      TOKENWISE_BUILD_DIR: outDir,
      WXT_BACKEND_URL: 'http://127.0.0.1:8787',
      TOKENWISE_TEST_HOST_PERMISSIONS: '',
    },
  });
  return join(outDir, browser === 'firefox' ? 'firefox-mv2' : 'chrome-mv3');
}

function readManifest(folder: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(folder, 'manifest.json'), 'utf8'));
}

describe('extension builds', { timeout: 120_000 }, () => {
  let firefoxDir: string;
  let chromeDir: string;

  beforeAll(async () => {
    firefoxDir = await build('firefox');
    chromeDir = await build('chrome');
  }, 120_000);

  it('gives Firefox a sidebar_action', () => {
    const manifest = readManifest(firefoxDir);
    expect(manifest.manifest_version).toBe(2);
    expect(manifest.sidebar_action).toMatchObject({
      default_panel: 'sidepanel.html',
    });
    expect(existsSync(join(firefoxDir, 'sidepanel.html'))).toBe(true);
    expect(manifest.background).toEqual({ scripts: ['background.js'] });
    expect(existsSync(join(firefoxDir, 'background.js'))).toBe(true);
    expect(manifest.browser_specific_settings).toMatchObject({
      gecko: { id: expect.any(String) },
    });
  });

  it('asks Firefox for no broad host access', () => {
    const manifest = readManifest(firefoxDir);
    const permissions = manifest.permissions as string[];
    expect(permissions).toEqual(
      expect.arrayContaining([
        'storage',
        'contextMenus',
        'activeTab',
        'scripting',
      ]),
    );
    expect(permissions).not.toContain('sidePanel');
    expect(permissions).not.toContain('<all_urls>');
    expect(permissions.filter((entry) => entry.includes('://'))).toEqual([
      'http://127.0.0.1:8787/*',
    ]);
    expect(manifest.optional_permissions).toEqual([
      'https://*/*',
      'http://*/*',
    ]);
  });

  it('gives Chrome a side panel and optional hosts', () => {
    const manifest = readManifest(chromeDir);
    expect(manifest.manifest_version).toBe(3);
    expect(manifest.side_panel).toEqual({ default_path: 'sidepanel.html' });
    expect(manifest.host_permissions).toEqual(['http://127.0.0.1:8787/*']);
    expect(manifest.optional_host_permissions).toEqual([
      'https://*/*',
      'http://*/*',
    ]);
    expect(JSON.stringify(manifest)).not.toContain('<all_urls>');
  });

  it.each(['firefox', 'chrome'])('localizes the %s manifest', (browser) => {
    const folder = browser === 'firefox' ? firefoxDir : chromeDir;
    const manifest = readManifest(folder);
    expect(manifest.default_locale).toBe('en');
    expect(manifest.name).toBe('__MSG_extensionName__');
    const messages = JSON.parse(
      readFileSync(join(folder, '_locales/en/messages.json'), 'utf8'),
    );
    expect(messages.extensionName.message).toBe('Tokenwise');
    expect(messages.extensionDescription.message.length).toBeGreaterThan(0);
  });

  it('ships the page reader for scripting', () => {
    expect(existsSync(join(firefoxDir, 'page-reader.js'))).toBe(true);
    expect(existsSync(join(chromeDir, 'page-reader.js'))).toBe(true);
  });
});
