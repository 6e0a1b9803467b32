/**
 * `npm run icons`: renders assets/icon.svg to the PNG sizes the browsers'
 * toolbars and stores use, into public/icon/ (the extension), store/ (the
 * Chrome Web Store icon) and server/static/ (the dashboard's favicon). The PNGs are committed; a test
 * checks they still match the SVG.
 */
import { Resvg } from '@resvg/resvg-js';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { REPOSITORY_ROOT } from './harness/backend';

/** Icon sizes in pixels: toolbar (16, 32), management page (48), stores (96, 128). */
export const ICON_SIZES = [16, 32, 48, 96, 128] as const;

export const ICON_SOURCE = join(REPOSITORY_ROOT, 'assets/icon.svg');

/**
 * Transparent margin of the 128 px icons, in pixels per side: the Chrome
 * Web Store asks for 96 px of artwork inside a 128 px image (its "Supplying
 * images" page), and the same file is the manifest's 128 px icon.
 */
export const STORE_ICON_PADDING = 16;

export interface IconTarget {
  /** Path relative to the repository root. */
  path: string;
  /** Width and height in pixels. */
  size: number;
  /** Transparent margin on each side, in pixels. */
  padding: number;
}

/** Where each rendered icon goes, relative to the repository root. */
export function listIconTargets(): IconTarget[] {
  return [
    ...ICON_SIZES.map((size) => ({
      path: `public/icon/${size}.png`,
      size,
      padding: size === 128 ? STORE_ICON_PADDING : 0,
    })),
    { path: 'store/icon-128.png', size: 128, padding: STORE_ICON_PADDING },
    { path: 'server/static/favicon.png', size: 32, padding: 0 },
  ];
}

/**
 * Renders the SVG source as a square PNG of `size` pixels, the artwork
 * inset by `padding` pixels of transparency on each side. Throws when the
 * SVG has no `viewBox` to inset.
 */
export function renderIcon(svg: string, size: number, padding = 0): Buffer {
  const source = padding === 0 ? svg : insetViewBox(svg, size, padding);
  const resvg = new Resvg(source, { fitTo: { mode: 'width', value: size } });
  return Buffer.from(resvg.render().asPng());
}

/** Widens the root viewBox so the artwork fills `size - 2 * padding` pixels. */
function insetViewBox(svg: string, size: number, padding: number): string {
  const match = /viewBox="([\d.-]+) ([\d.-]+) ([\d.]+) ([\d.]+)"/.exec(svg);
  if (!match) {
    throw new Error(
      'The icon SVG has no viewBox="x y width height", so it cannot be padded.',
    );
  }
  const [x, y, width, height] = match.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
  ];
  const margin = (width * padding) / (size - 2 * padding);
  const viewBox = [
    x - margin,
    y - margin,
    width + 2 * margin,
    height + 2 * margin,
  ];
  return svg.replace(match[0], `viewBox="${viewBox.join(' ')}"`);
}

function main(): void {
  const svg = readFileSync(ICON_SOURCE, 'utf8');
  for (const target of listIconTargets()) {
    const path = join(REPOSITORY_ROOT, target.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, renderIcon(svg, target.size, target.padding));
    console.log(
      `wrote ${target.path} (${target.size} px, ${target.padding} px margin)`,
    );
  }
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1])) {
  main();
}
