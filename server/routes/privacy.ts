/**
 * The privacy policy: `GET /privacy` renders PRIVACY.md from the
 * repository root as an HTML page, and `GET /privacy.md` serves the same
 * text, so the page and the file cannot differ. Both are public.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Hono } from 'hono';
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import Markdown from 'react-markdown';
import remarkGfm from 'remark-gfm';
import type { AppEnv } from '../http/context';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The policy's Markdown source. */
export const PRIVACY_FILE = path.join(ROOT, 'PRIVACY.md');

const STATIC_DIRECTORY = path.join(ROOT, 'server', 'static');

/** Files under /static/ that the page loads, by name. */
const STATIC_FILES: Record<string, { file: string; contentType: string }> = {
  'privacy.css': {
    file: path.join(STATIC_DIRECTORY, 'privacy.css'),
    contentType: 'text/css; charset=utf-8',
  },
  'favicon.png': {
    file: path.join(STATIC_DIRECTORY, 'favicon.png'),
    contentType: 'image/png',
  },
};

/** Public caching of the policy and its files, in seconds: one hour. */
const CACHE_SECONDS = 3_600;

/**
 * Renders the policy's Markdown as a complete HTML page. Raw HTML in the
 * Markdown is shown as text, never interpreted.
 */
export function renderPrivacyPage(markdown: string): string {
  const body = renderToStaticMarkup(
    createElement(Markdown, { remarkPlugins: [remarkGfm] }, markdown),
  );
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tokenwise privacy policy</title>
<link rel="icon" type="image/png" href="/static/favicon.png">
<link rel="stylesheet" href="/static/privacy.css">
</head>
<body>
<main>
${body}
</main>
</body>
</html>`;
}

/**
 * Adds `GET /privacy`, `GET /privacy.md` and the page's static files. The
 * files are read once here, so a missing PRIVACY.md fails the start.
 */
export function addPrivacyRoutes(app: Hono<AppEnv>): void {
  const markdown = readFileSync(PRIVACY_FILE, 'utf8');
  const page = renderPrivacyPage(markdown);
  const staticBodies = new Map(
    Object.entries(STATIC_FILES).map(([name, entry]) => [
      name,
      { body: readFileSync(entry.file), contentType: entry.contentType },
    ]),
  );
  const publicCache = `public, max-age=${CACHE_SECONDS}`;

  app.get('/privacy', (context) => {
    context.header('cache-control', publicCache);
    return context.html(page);
  });
  app.get('/privacy.md', (context) => {
    context.header('content-type', 'text/markdown; charset=utf-8');
    context.header('cache-control', publicCache);
    return context.body(markdown);
  });
  app.get('/static/:name', (context) => {
    const entry = staticBodies.get(context.req.param('name'));
    if (!entry) {
      return context.notFound();
    }
    context.header('content-type', entry.contentType);
    context.header('cache-control', publicCache);
    return context.body(new Uint8Array(entry.body));
  });
}
