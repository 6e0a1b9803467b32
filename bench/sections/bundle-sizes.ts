/**
 * Sizes of the built extension: every file, and what each page loads (its
 * HTML, scripts, styles and the chunks they import), raw and gzipped.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix, relative } from 'node:path';
import { gzipSync } from 'node:zlib';

/** Bytes on disk and after gzip at its default level. */
export interface ByteSize {
  bytes: number;
  gzipBytes: number;
}

export interface EntrySize extends ByteSize {
  /** Files the entry loads, relative to the extension folder. */
  files: string[];
  /** Whether any of those files contains gpt-tokenizer's encoding. */
  containsTokenizer: boolean;
}

export interface BundleSizes {
  total: ByteSize;
  entries: Record<string, EntrySize>;
}

// The name of the encoding appears in gpt-tokenizer's bundled code and in
// none of the extension's own files.
const TOKENIZER_MARKER = 'o200k';

/** Measures the pages and the background script of a built extension. */
export function measureBundles(extensionDir: string): BundleSizes {
  const files = listFiles(extensionDir);
  const total = sumSizes(extensionDir, files);
  const entries: Record<string, EntrySize> = {};

  for (const page of ['popup', 'sidepanel', 'options']) {
    const htmlFile = `${page}.html`;
    if (files.includes(htmlFile)) {
      const html = readFileSync(join(extensionDir, htmlFile), 'utf8');
      const roots = [...html.matchAll(/(?:src|href)="\/([^"]+)"/g)].map(
        (match) => match[1] as string,
      );
      entries[page] = measureEntry(extensionDir, [htmlFile, ...roots]);
    }
  }
  if (files.includes('background.js')) {
    entries.background = measureEntry(extensionDir, ['background.js']);
  }
  return { total, entries };
}

function measureEntry(extensionDir: string, roots: string[]): EntrySize {
  const files = collectImports(extensionDir, roots);
  const containsTokenizer = files.some(
    (file) =>
      file.endsWith('.js') &&
      readFileSync(join(extensionDir, file), 'utf8').includes(TOKENIZER_MARKER),
  );
  return { ...sumSizes(extensionDir, files), files, containsTokenizer };
}

// Follows static imports (`from"./x.js"`, `import"./x.js"`) from the roots.
function collectImports(extensionDir: string, roots: string[]): string[] {
  const seen = new Set<string>();
  const pending = [...roots];
  while (pending.length > 0) {
    const file = pending.pop() as string;
    if (seen.has(file)) {
      continue;
    }
    seen.add(file);
    if (!file.endsWith('.js')) {
      continue;
    }
    const code = readFileSync(join(extensionDir, file), 'utf8');
    for (const match of code.matchAll(
      /(?:from|import)\s*"(\.{1,2}\/[^"]+)"/g,
    )) {
      pending.push(
        posix.normalize(posix.join(posix.dirname(file), match[1] as string)),
      );
    }
  }
  return [...seen].sort();
}

function sumSizes(extensionDir: string, files: string[]): ByteSize {
  let bytes = 0;
  let gzipBytes = 0;
  for (const file of files) {
    const content = readFileSync(join(extensionDir, file));
    bytes += content.length;
    gzipBytes += gzipSync(content).length;
  }
  return { bytes, gzipBytes };
}

function listFiles(folder: string): string[] {
  const files: string[] = [];
  const visit = (current: string) => {
    for (const name of readdirSync(current)) {
      const path = join(current, name);
      if (statSync(path).isDirectory()) {
        visit(path);
      } else {
        files.push(relative(folder, path).split('\\').join('/'));
      }
    }
  };
  visit(folder);
  return files;
}
