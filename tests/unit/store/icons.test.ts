import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPOSITORY_ROOT } from '../../../scripts/harness/backend';
import { Resvg } from '@resvg/resvg-js';
import {
  ICON_SOURCE,
  listIconTargets,
  renderIcon,
  STORE_ICON_PADDING,
} from '../../../scripts/make-icons';

// A PNG's width and height are big-endian 32-bit integers at bytes 16 to 23.
function readPngSize(png: Buffer): { width: number; height: number } {
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

describe('icons', () => {
  const svg = readFileSync(ICON_SOURCE, 'utf8');

  it.each(listIconTargets())('$path is $size px square', ({ path, size }) => {
    const png = readFileSync(join(REPOSITORY_ROOT, path));
    expect(readPngSize(png)).toEqual({ width: size, height: size });
  });

  it.each(listIconTargets())(
    '$path matches the SVG source',
    ({ path, size, padding }) => {
      const committed = readFileSync(join(REPOSITORY_ROOT, path));
      expect(committed.equals(renderIcon(svg, size, padding))).toBe(true);
    },
  );

  it.each([
    { browser: 'Chrome', sizes: [16, 32, 48, 128] },
    { browser: 'Firefox', sizes: [16, 32, 48, 96] },
  ])('covers the sizes $browser uses', ({ sizes }) => {
    const paths = listIconTargets().map((target) => target.path);
    for (const size of sizes) {
      expect(paths).toContain(`public/icon/${size}.png`);
    }
  });

  it('pads the store icon to 96 px of artwork', () => {
    const png = renderIcon(svg, 128, STORE_ICON_PADDING);
    const { data, info } = decodeRgba(png);
    const alphaAt = (x: number, y: number) =>
      data[(y * info.width + x) * 4 + 3];
    // The 16 px margin is transparent, and the artwork reaches into the
    // 96 px square: the SVG's rounded square starts 4/128 of the way in.
    expect(alphaAt(8, 64)).toBe(0);
    expect(alphaAt(64, 8)).toBe(0);
    expect(alphaAt(119, 64)).toBe(0);
    expect(alphaAt(20, 64)).toBeGreaterThan(0);
    expect(alphaAt(64, 64)).toBeGreaterThan(0);
  });

  it('rejects an SVG without a viewBox', () => {
    expect(() =>
      renderIcon('<svg width="10" height="10"></svg>', 128, 16),
    ).toThrow(/no viewBox/);
  });
});

/** Decodes a PNG into RGBA pixels with resvg's own decoder. */
function decodeRgba(png: Buffer): {
  data: Uint8Array;
  info: { width: number; height: number };
} {
  const image = new Resvg(
    `<svg xmlns="http://www.w3.org/2000/svg" width="128" height="128"><image href="data:image/png;base64,${png.toString('base64')}" width="128" height="128"/></svg>`,
  ).render();
  return {
    data: image.pixels,
    info: { width: image.width, height: image.height },
  };
}
