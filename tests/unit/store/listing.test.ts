/**
 * The store listing in store/listing.json against the stores' limits, the
 * extension's own messages and manifest, and the committed images.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import config from '../../../wxt.config';
import { REPOSITORY_ROOT } from '../../../scripts/harness/backend';
import {
  PROMO_TILE_SIZE,
  SCREENSHOT_SIZE,
} from '../../../scripts/store-screenshots';
import { MAX_DESCRIPTION_CHARS } from '../../../scripts/zip-check';

interface Listing {
  name: string;
  shortDescription: string;
  firefoxSummary: string;
  description: string;
  singlePurpose: string;
  permissions: Record<string, string>;
  remoteCode: string;
  dataUsage: { chrome: string[]; explanation: string };
  privacyPolicyPath: string;
  images: { icon: string; screenshots: string[]; smallPromoTile: string };
}

interface ManifestPart {
  permissions?: string[];
  host_permissions?: string[];
  optional_host_permissions?: string[];
  optional_permissions?: string[];
  browser_specific_settings?: {
    gecko?: { data_collection_permissions?: { required?: string[] } };
  };
}

/** Chrome Web Store data categories of the privacy practices form (2026). */
const CHROME_DATA_CATEGORIES = [
  'Personally identifiable information',
  'Health information',
  'Financial and payment information',
  'Authentication information',
  'Personal communications',
  'Location',
  'Web history',
  'User activity',
  'Website content',
];

/** The Firefox data types and the Chrome categories that name the same data. */
const CHROME_CATEGORY_OF_FIREFOX_TYPE: Record<string, string> = {
  personalCommunications: 'Personal communications',
  websiteContent: 'Website content',
  browsingActivity: 'Web history',
  websiteActivity: 'User activity',
  personallyIdentifyingInfo: 'Personally identifiable information',
  authenticationInfo: 'Authentication information',
  locationInfo: 'Location',
  healthInfo: 'Health information',
  financialAndPaymentInfo: 'Financial and payment information',
};

const listing = JSON.parse(
  readFileSync(join(REPOSITORY_ROOT, 'store/listing.json'), 'utf8'),
) as Listing;
const messages = JSON.parse(
  readFileSync(
    join(REPOSITORY_ROOT, 'public/_locales/en/messages.json'),
    'utf8',
  ),
) as Record<string, { message: string }>;

async function buildManifest(
  browser: 'chrome' | 'firefox',
): Promise<ManifestPart> {
  const manifest = config.manifest;
  if (typeof manifest !== 'function') {
    throw new Error(
      'wxt.config.ts no longer builds its manifest in a function.',
    );
  }
  return (await manifest({
    browser,
    manifestVersion: browser === 'chrome' ? 3 : 2,
    mode: 'production',
    command: 'build',
  })) as ManifestPart;
}

function readPngSize(path: string): { width: number; height: number } {
  const png = readFileSync(join(REPOSITORY_ROOT, path));
  // A PNG's width and height are big-endian 32-bit integers at bytes 16 to 23.
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

describe('store listing text', () => {
  it('matches the manifest name and description', () => {
    expect(listing.name).toBe(messages.extensionName?.message);
    expect(listing.shortDescription).toBe(
      messages.extensionDescription?.message,
    );
  });

  it.each([
    ['shortDescription', MAX_DESCRIPTION_CHARS],
    ['firefoxSummary', 250],
    ['description', 16_000],
    ['singlePurpose', 1_000],
  ] as const)('keeps %s within %i characters', (field, max) => {
    expect(listing[field].length).toBeGreaterThan(0);
    expect(listing[field].length).toBeLessThanOrEqual(max);
  });

  it('names the privacy page the backend serves', () => {
    expect(listing.privacyPolicyPath).toBe('/privacy');
  });
});

describe('permission justifications', () => {
  it('cover exactly what the manifests request', async () => {
    const requested = new Set<string>();
    for (const browser of ['chrome', 'firefox'] as const) {
      const manifest = await buildManifest(browser);
      for (const permission of manifest.permissions ?? []) {
        requested.add(permission);
      }
      if ((manifest.host_permissions ?? []).length > 0) {
        requested.add('host_permissions');
      }
      if (
        (manifest.optional_host_permissions ?? []).length > 0 ||
        (manifest.optional_permissions ?? []).length > 0
      ) {
        requested.add('optional_host_permissions');
      }
    }

    expect(Object.keys(listing.permissions).sort()).toEqual(
      [...requested].sort(),
    );
  });

  it.each(Object.entries(listing.permissions))(
    'explains %s in a sentence',
    (_permission, justification) => {
      expect(justification.length).toBeGreaterThanOrEqual(40);
      expect(justification.trim().endsWith('.')).toBe(true);
    },
  );
});

describe('data usage', () => {
  it('uses Chrome categories only', () => {
    for (const category of listing.dataUsage.chrome) {
      expect(CHROME_DATA_CATEGORIES).toContain(category);
    }
  });

  it('declares what the Firefox manifest declares', async () => {
    const firefox = await buildManifest('firefox');
    const declared =
      firefox.browser_specific_settings?.gecko?.data_collection_permissions
        ?.required ?? [];
    expect(declared.length).toBeGreaterThan(0);
    expect(
      declared.map((type) => CHROME_CATEGORY_OF_FIREFOX_TYPE[type]).sort(),
    ).toEqual([...listing.dataUsage.chrome].sort());
  });
});

describe('store images', () => {
  it('has the 128 px store icon', () => {
    expect(readPngSize(listing.images.icon)).toEqual({
      width: 128,
      height: 128,
    });
  });

  it.each(listing.images.screenshots)('has %s at 1280x800', (path) => {
    expect(readPngSize(path)).toEqual(SCREENSHOT_SIZE);
  });

  it('has the small promo tile at 440x280', () => {
    expect(readPngSize(listing.images.smallPromoTile)).toEqual(PROMO_TILE_SIZE);
  });
});
