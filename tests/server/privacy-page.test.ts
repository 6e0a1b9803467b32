/**
 * `GET /privacy` and `GET /privacy.md` serve PRIVACY.md itself, under the
 * strict page policy, and the policy's figures match the configuration
 * they describe.
 */
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findConfigVariable } from '../../server/config-variables';
import { HTML_CONTENT_SECURITY_POLICY } from '../../server/http/security-headers';
import { PRIVACY_FILE, renderPrivacyPage } from '../../server/routes/privacy';
import {
  createTempDirectory,
  startTestBackend,
  type TestBackend,
} from './helpers';

const PRIVACY_TEXT = readFileSync(PRIVACY_FILE, 'utf8');

let temp: ReturnType<typeof createTempDirectory>;
let backend: TestBackend | undefined;

beforeEach(() => {
  temp = createTempDirectory();
});

afterEach(async () => {
  await backend?.stop({ drainTimeoutMs: 1_000 });
  backend = undefined;
  temp.remove();
});

describe('privacy routes', () => {
  it('serves PRIVACY.md as a page', async () => {
    backend = await startTestBackend(temp.directory);

    const response = await fetch(`${backend.url}/privacy`);

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/html');
    expect(response.headers.get('content-security-policy')).toBe(
      HTML_CONTENT_SECURITY_POLICY,
    );
    const html = await response.text();
    expect(html).toContain('<h1>Tokenwise privacy policy</h1>');
    expect(html).toContain('<h2>How to delete your data</h2>');
    expect(html).toContain('<table>');
    expect(html).not.toMatch(/<script/i);
  });

  it('serves the Markdown unchanged', async () => {
    backend = await startTestBackend(temp.directory);

    const response = await fetch(`${backend.url}/privacy.md`);

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/markdown');
    expect(await response.text()).toBe(PRIVACY_TEXT);
  });

  it('serves the page style and icon only', async () => {
    backend = await startTestBackend(temp.directory);

    const style = await fetch(`${backend.url}/static/privacy.css`);
    const icon = await fetch(`${backend.url}/static/favicon.png`);
    const other = await fetch(`${backend.url}/static/..%2Fapp.ts`);

    expect(style.status).toBe(200);
    expect(style.headers.get('content-type')).toContain('text/css');
    expect(icon.status).toBe(200);
    expect(icon.headers.get('content-type')).toBe('image/png');
    expect(other.status).toBe(404);
  });
});

describe('renderPrivacyPage', () => {
  it('shows raw HTML as text', () => {
    const html = renderPrivacyPage('# Title\n\n<script>alert(1)</script>');
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;');
  });
});

describe('PRIVACY.md', () => {
  it('states the default cache lifetime', () => {
    const seconds = Number(
      findConfigVariable('TOKENWISE_CACHE_TTL_SECONDS').defaultValue,
    );
    expect(PRIVACY_TEXT).toContain(`${seconds / 86_400} days by default`);
  });

  it('names the settings it describes', () => {
    for (const name of [
      'TOKENWISE_CACHE_TTL_SECONDS',
      'TOKENWISE_SHARED_CACHE',
    ]) {
      expect(findConfigVariable(name).name).toBe(name);
      expect(PRIVACY_TEXT).toContain(name);
    }
  });

  it('describes the deletion endpoint', () => {
    expect(PRIVACY_TEXT).toContain('DELETE /v1/installs/me');
  });
});
