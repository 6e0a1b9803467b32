/**
 * The built extension under attack: it must contain no secret from the
 * build environment, ask for narrow permissions, keep Manifest V3's
 * default content security policy, and render a hostile answer inertly.
 * The last test scans every backend log the end-to-end runs wrote.
 */
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  REPOSITORY_ROOT,
  startBackend,
  type RunningBackend,
} from '../../scripts/harness/backend';
import {
  askInSidePanel,
  buildExtension,
  launchExtension,
  type ExtensionBrowser,
} from '../../scripts/harness/browser';
import { startFakeProvider, type FakeProvider } from '../fake-provider';
import { DISTINCTIVE_SECRETS, findSecrets } from '../security/helpers';

const RESULTS = join(REPOSITORY_ROOT, 'test-results');

/** Lists every file under `directory`, recursively. */
function listFiles(directory: string): string[] {
  return readdirSync(directory).flatMap((name) => {
    const file = join(directory, name);
    return statSync(file).isDirectory() ? listFiles(file) : [file];
  });
}

interface Manifest {
  permissions?: string[];
  host_permissions?: string[];
  optional_host_permissions?: string[];
  content_security_policy?: unknown;
  content_scripts?: Array<{ matches?: string[] }>;
  web_accessible_resources?: unknown;
  externally_connectable?: unknown;
}

describe('built extension', () => {
  let buildDir: string;
  const backendOrigin = 'http://127.0.0.1:48123';

  beforeAll(async () => {
    // Secrets under their own names and under the prefixes that WXT and
    // Vite expose to extension code, so an accidental import would show.
    const saved = { ...process.env };
    for (const [name, value] of Object.entries(DISTINCTIVE_SECRETS)) {
      process.env[name] = value;
      process.env[`WXT_${name}`] = value;
      process.env[`VITE_${name}`] = value;
    }
    try {
      buildDir = await buildExtension({
        backendUrl: backendOrigin,
        outDir: join(RESULTS, 'e2e-build-security'),
      });
    } finally {
      process.env = saved;
    }
  });

  it('contains no secret from the build environment', () => {
    const files = listFiles(buildDir);
    expect(files.length).toBeGreaterThan(3);
    for (const file of files) {
      const text = readFileSync(file, 'latin1');
      expect(findSecrets(text), file).toEqual([]);
    }
  });

  it('asks for the narrowest permissions', () => {
    const manifest = JSON.parse(
      readFileSync(join(buildDir, 'manifest.json'), 'utf8'),
    ) as Manifest;
    const required = [
      ...(manifest.permissions ?? []),
      ...(manifest.host_permissions ?? []),
    ];

    expect(manifest.host_permissions).toEqual([`${backendOrigin}/*`]);
    expect(required).not.toContain('<all_urls>');
    expect(
      required.filter((permission) => permission.includes('*://')),
    ).toEqual([]);
    for (const permission of [
      'tabs',
      'webRequest',
      'debugger',
      'cookies',
      'history',
    ]) {
      expect(manifest.permissions ?? []).not.toContain(permission);
    }
    expect(manifest.optional_host_permissions ?? []).not.toContain(
      '<all_urls>',
    );
    for (const script of manifest.content_scripts ?? []) {
      expect(script.matches ?? []).not.toContain('<all_urls>');
    }
    expect(manifest.externally_connectable).toBe(undefined);
  });

  it('keeps the default content security policy and no remote code', () => {
    const manifestText = readFileSync(join(buildDir, 'manifest.json'), 'utf8');
    const manifest = JSON.parse(manifestText) as Manifest;

    expect(manifest.content_security_policy).toBe(undefined);
    expect(manifestText).not.toContain('unsafe-eval');
    expect(manifestText).not.toContain('unsafe-inline');

    for (const file of listFiles(buildDir)) {
      if (file.endsWith('.html')) {
        const html = readFileSync(file, 'utf8');
        expect(html, file).not.toMatch(/<script[^>]+src=["']?(https?:)?\/\//i);
        expect(html, file).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>\s*\S/i);
        expect(html, file).not.toMatch(/\son[a-z]+=/i);
      }
      if (file.endsWith('.js')) {
        const script = readFileSync(file, 'utf8');
        expect(script, file).not.toMatch(/import\(\s*["']https?:/);
        expect(script, file).not.toMatch(/importScripts\(\s*["']https?:/);
      }
    }
  });
});

describe('hostile answers in the side panel', () => {
  let provider: FakeProvider;
  let backend: RunningBackend;
  let browser: ExtensionBrowser;

  beforeAll(async () => {
    provider = await startFakeProvider();
    const dataDir = mkdtempSync(join(tmpdir(), 'tokenwise-e2e-security-'));
    backend = await startBackend({
      port: inject('backendPort'),
      dataDir,
      logFile: join(RESULTS, 'e2e-security-backend.log'),
      env: {
        ...DISTINCTIVE_SECRETS,
        OPENAI_BASE_URL: provider.openaiBaseUrl,
        GEMINI_BASE_URL: provider.geminiBaseUrl,
        ANTHROPIC_BASE_URL: provider.anthropicBaseUrl,
        TOKENWISE_LOG_LEVEL: 'debug',
      },
    });
    browser = await launchExtension({ extensionDir: inject('extensionDir') });
  });

  afterAll(async () => {
    await browser?.close();
    await backend?.stop();
    await provider?.close();
  });

  it('renders script, event handlers and javascript: links inertly', async () => {
    const sidePanel = await browser.openSidePanel();
    const dialogs: string[] = [];
    sidePanel.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    const hostile = [
      'Here you go: <img src=x onerror="alert(\'img\')">',
      '<script>alert("script")</script>',
      '<svg onload="alert(\'svg\')"></svg>',
      '[click me](javascript:alert("link"))',
      '<a href="javascript:alert(\'html link\')">html link</a>',
      '<iframe src="javascript:alert(\'frame\')"></iframe>',
    ].join('\n\n');
    provider.enqueue({ type: 'answer', deltas: [hostile] });

    const answer = await askInSidePanel(
      sidePanel,
      'Show me a hostile answer, number 9911.',
    );
    expect(answer.status).toBe('done');
    expect(answer.text).toContain('Here you go');
    expect(answer.text).toContain('click me');

    const text = sidePanel.getByTestId('answer-text').last();
    expect(await text.locator('script').count()).toBe(0);
    expect(await text.locator('img[onerror]').count()).toBe(0);
    expect(await text.locator('svg[onload]').count()).toBe(0);
    expect(await text.locator('iframe').count()).toBe(0);
    expect(await text.locator('[onerror], [onload], [onclick]').count()).toBe(
      0,
    );
    const hrefs = await text
      .locator('a')
      .evaluateAll((links) => links.map((link) => link.getAttribute('href')));
    for (const href of hrefs) {
      expect(href ?? '').not.toMatch(/^\s*javascript:/i);
    }
    for (const link of await text.locator('a').all()) {
      await link.click({ timeout: 2_000 }).catch(() => undefined);
    }
    await sidePanel.waitForTimeout(500);
    expect(dialogs).toEqual([]);
    expect(sidePanel.url()).toContain('sidepanel.html');
  });

  it('leaves no secret or token in any backend log', async () => {
    await backend.stop();
    const logs = readdirSync(RESULTS).filter((name) => name.endsWith('.log'));
    expect(logs).toContain('e2e-security-backend.log');

    for (const name of logs) {
      const text = readFileSync(join(RESULTS, name), 'utf8');
      expect(findSecrets(text), name).toEqual([]);
      expect(text, name).not.toMatch(
        /tw1\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{20,}/,
      );
      expect(text, name).not.toContain('hostile answer, number 9911');
    }
  });
});
