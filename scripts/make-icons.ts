/**
 * `npm run icons`: renders assets/icon.svg to the PNG sizes the browsers'
 * toolbars and stores use, into public/icon/ (the extension) and
 * server/static/ (the dashboard's favicon). The PNGs are committed; a test
 * checks they still match the SVG.
 */
import { Resvg } from '@resvg/resvg-js';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { REPOSITORY_ROOT } from './harness/backend';

/** Icon sizes in pixels: toolbar (16, 32), management page (48), stores (96, 128). */
export const ICON_SIZES = [16, 32, 48, 96, 128] as const;

export const ICON_SOURCE = join(REPOSITORY_ROOT, 'assets/icon.svg');

/** Where each rendered icon goes, relative to the repository root. */
export function listIconTargets(): Array<{ path: string; size: number }> {
  return [
    ...ICON_SIZES.map((size) => ({ path: `public/icon/${size}.png`, size })),
    { path: 'server/static/favicon.png', size: 32 },
  ];
}

/** Renders the SVG source as a square PNG of `size` pixels. */
export function renderIcon(svg: string, size: number): Buffer {
  const resvg = new Resvg(svg, { fitTo: { mode: 'width', value: size } });
  return Buffer.from(resvg.render().asPng());
}

function main(): void {
  const svg = readFileSync(ICON_SOURCE, 'utf8');
  for (const target of listIconTargets()) {
    const path = join(REPOSITORY_ROOT, target.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, renderIcon(svg, target.size));
    console.log(`wrote ${target.path} (${target.size} px)`);
  }
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1])) {
  main();
}
