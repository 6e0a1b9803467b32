/**
 * `npm run store:screenshots` on the shared end-to-end build: the side
 * panel and popup images come out at the stores' 1280x800 and the promo
 * tile at 440x280, with the real captures laid in unscaled.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  produceStoreImages,
  PROMO_TILE_SIZE,
  SCREENSHOT_SIZE,
  type StoreImages,
} from '../../scripts/store-screenshots';

function readPngSize(path: string): { width: number; height: number } {
  const png = readFileSync(path);
  // A PNG's width and height are big-endian 32-bit integers at bytes 16 to 23.
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

describe('store screenshots', () => {
  let outDir: string;
  let images: StoreImages;

  beforeAll(async () => {
    outDir = mkdtempSync(join(tmpdir(), 'tokenwise-store-images-test-'));
    images = await produceStoreImages({
      outDir,
      extensionDir: inject('extensionDir'),
      port: inject('backendPort'),
    });
  });

  afterAll(() => rmSync(outDir, { recursive: true, force: true }));

  it('makes the side panel image 1280x800', () => {
    expect(readPngSize(images.sidePanel)).toEqual(SCREENSHOT_SIZE);
  });

  it('makes the popup image 1280x800', () => {
    expect(readPngSize(images.popup)).toEqual(SCREENSHOT_SIZE);
  });

  it('makes the promo tile 440x280', () => {
    expect(readPngSize(images.smallPromoTile)).toEqual(PROMO_TILE_SIZE);
  });

  it('writes distinct images', () => {
    const sidePanel = readFileSync(images.sidePanel);
    const popup = readFileSync(images.popup);
    expect(sidePanel.equals(popup)).toBe(false);
  });
});
