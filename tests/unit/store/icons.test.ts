import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPOSITORY_ROOT } from '../../../scripts/harness/backend';
import {
  ICON_SOURCE,
  listIconTargets,
  renderIcon,
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
    ({ path, size }) => {
      const committed = readFileSync(join(REPOSITORY_ROOT, path));
      expect(committed.equals(renderIcon(svg, size))).toBe(true);
    },
  );
});
