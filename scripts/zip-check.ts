/**
 * Checks the store archives that `npm run zip` writes: each extension zip
 * holds a valid manifest for its browser whose files all exist, no source
 * maps, no test files and no configured secret, and every zip stays under
 * the store's size limit and the project's own budget.
 */
import { readFileSync, statSync } from 'node:fs';
import JSZip from 'jszip';

export type StoreBrowser = 'chrome' | 'firefox';

/**
 * Size limits in bytes. The hard limits are the stores' own: 2 GB for a
 * Chrome Web Store package and 200 MB for a Firefox add-on file (both as
 * documented by the stores in 2026). The budget is ours: an extension zip
 * past 10 MB means something large slipped in.
 */
export const SIZE_LIMITS = {
  chrome: { hardBytes: 2 * 1024 ** 3, budgetBytes: 10 * 1024 ** 2 },
  firefox: { hardBytes: 200 * 1024 ** 2, budgetBytes: 10 * 1024 ** 2 },
  sources: { hardBytes: 200 * 1024 ** 2, budgetBytes: 20 * 1024 ** 2 },
} as const;

/** Chrome Web Store limit on the manifest description, in characters. */
export const MAX_DESCRIPTION_CHARS = 132;

/** Firefox's data types for `data_collection_permissions` (MDN, 2026). */
export const FIREFOX_DATA_TYPES = [
  'none',
  'authenticationInfo',
  'bookmarksInfo',
  'browsingActivity',
  'financialAndPaymentInfo',
  'healthInfo',
  'locationInfo',
  'personalCommunications',
  'personallyIdentifyingInfo',
  'searchTerms',
  'websiteActivity',
  'websiteContent',
] as const;

/** Icon sizes each browser's manifest must list, in pixels. */
const REQUIRED_ICON_SIZES: Record<StoreBrowser, number[]> = {
  chrome: [16, 32, 48, 128],
  firefox: [16, 32, 48, 96, 128],
};

/** Paths that only tests, local runs or build tooling produce. */
const FORBIDDEN_PATHS = [
  /(^|\/)tests?\//,
  /\.(test|spec)\.[cm]?[jt]sx?$/,
  /(^|\/)fake-provider\//,
  /(^|\/)\.env/,
  /(^|\/)data\//,
  /(^|\/)test-results\//,
  /(^|\/)demo-output\//,
  /(^|\/)node_modules\//,
  /\.db(-wal|-shm)?$/,
  /(^|\/)install-secret$/,
];

export interface ZipProblem {
  zip: string;
  message: string;
}

export interface CheckExtensionZipOptions {
  file: string;
  browser: StoreBrowser;
  /** The version the manifest must carry: package.json's. */
  expectedVersion: string;
  /** Values that must appear in no file, such as provider keys. */
  secrets: readonly string[];
}

/**
 * Checks one extension zip and returns the problems found; an empty list
 * means the zip is ready for its store.
 */
export async function checkExtensionZip(
  options: CheckExtensionZipOptions,
): Promise<ZipProblem[]> {
  const problems: ZipProblem[] = [];
  const report = (message: string) =>
    problems.push({ zip: options.file, message });

  checkSize(options.file, SIZE_LIMITS[options.browser], report);
  const zip = await JSZip.loadAsync(readFileSync(options.file));
  const paths = listFiles(zip);
  checkPaths(paths, report);
  await checkContents(zip, paths, options.secrets, report);

  const manifestFile = zip.file('manifest.json');
  if (!manifestFile) {
    report('manifest.json is missing at the zip root.');
    return problems;
  }
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await manifestFile.async('string')) as Manifest;
  } catch (error) {
    report(`manifest.json is not valid JSON: ${String(error)}`);
    return problems;
  }
  const messages = await readMessages(zip, manifest, report);
  checkManifest({ manifest, messages, paths, options, report });
  await checkIcons(zip, manifest, options.browser, report);
  return problems;
}

/**
 * Checks the Firefox sources zip: the files needed to build the extension
 * are there, and nothing local, secret or test-only is.
 */
export async function checkSourcesZip(options: {
  file: string;
  secrets: readonly string[];
}): Promise<ZipProblem[]> {
  const problems: ZipProblem[] = [];
  const report = (message: string) =>
    problems.push({ zip: options.file, message });

  checkSize(options.file, SIZE_LIMITS.sources, report);
  const zip = await JSZip.loadAsync(readFileSync(options.file));
  const paths = listFiles(zip);
  checkPaths(paths, report);
  await checkContents(zip, paths, options.secrets, report);
  for (const needed of [
    'package.json',
    'package-lock.json',
    'wxt.config.ts',
    'tsconfig.json',
    'entrypoints/background.ts',
  ]) {
    if (!paths.includes(needed)) {
      report(`${needed} is missing, so a reviewer cannot build from it.`);
    }
  }
  return problems;
}

interface Manifest {
  manifest_version?: number;
  name?: string;
  description?: string;
  version?: string;
  default_locale?: string;
  icons?: Record<string, string>;
  permissions?: string[];
  background?: { service_worker?: string; scripts?: string[] };
  action?: { default_popup?: string };
  browser_action?: { default_popup?: string };
  side_panel?: { default_path?: string };
  sidebar_action?: { default_panel?: string };
  options_ui?: { page?: string };
  browser_specific_settings?: {
    gecko?: {
      id?: string;
      data_collection_permissions?: {
        required?: string[];
        optional?: string[];
      };
    };
  };
}

type Report = (message: string) => void;

function listFiles(zip: JSZip): string[] {
  return Object.values(zip.files)
    .filter((entry) => !entry.dir)
    .map((entry) => entry.name);
}

function checkSize(
  file: string,
  limits: { hardBytes: number; budgetBytes: number },
  report: Report,
): void {
  const bytes = statSync(file).size;
  if (bytes > limits.hardBytes) {
    report(`${bytes} bytes is over the store limit of ${limits.hardBytes}.`);
  } else if (bytes > limits.budgetBytes) {
    report(
      `${bytes} bytes is over the budget of ${limits.budgetBytes}; find what grew before publishing.`,
    );
  }
}

function checkPaths(paths: readonly string[], report: Report): void {
  for (const path of paths) {
    if (path.endsWith('.map')) {
      report(`${path} is a source map; the store zips ship none.`);
    }
    const pattern = FORBIDDEN_PATHS.find((candidate) => candidate.test(path));
    if (pattern) {
      report(`${path} must not be published (matches ${pattern}).`);
    }
  }
}

async function checkContents(
  zip: JSZip,
  paths: readonly string[],
  secrets: readonly string[],
  report: Report,
): Promise<void> {
  const checked = secrets.filter((secret) => secret.length >= 8);
  for (const path of paths) {
    const text = await zip.file(path)!.async('string');
    if (/\.[cm]?js$/.test(path) && /[#@] sourceMappingURL=/.test(text)) {
      report(`${path} points to a source map.`);
    }
    for (const secret of checked) {
      if (text.includes(secret)) {
        report(
          `${path} contains the value of a configured secret (${secret.slice(0, 4)}...).`,
        );
      }
    }
  }
}

async function readMessages(
  zip: JSZip,
  manifest: Manifest,
  report: Report,
): Promise<Record<string, string>> {
  if (!manifest.default_locale) {
    return {};
  }
  const path = `_locales/${manifest.default_locale}/messages.json`;
  const file = zip.file(path);
  if (!file) {
    report(`${path} is missing, but default_locale names it.`);
    return {};
  }
  const parsed = JSON.parse(await file.async('string')) as Record<
    string,
    { message: string }
  >;
  return Object.fromEntries(
    Object.entries(parsed).map(([name, entry]) => [name, entry.message]),
  );
}

/** Replaces `__MSG_name__` with the default locale's message. */
function localize(
  value: string | undefined,
  messages: Record<string, string>,
  report: Report,
): string | undefined {
  const match = /^__MSG_(\w+)__$/.exec(value ?? '');
  if (!match) {
    return value;
  }
  const message = messages[match[1]!];
  if (message === undefined) {
    report(`${value} has no message in the default locale.`);
  }
  return message;
}

function checkManifest(context: {
  manifest: Manifest;
  messages: Record<string, string>;
  paths: readonly string[];
  options: CheckExtensionZipOptions;
  report: Report;
}): void {
  const { manifest, messages, paths, options, report } = context;
  const expectedManifestVersion = options.browser === 'chrome' ? 3 : 2;
  if (manifest.manifest_version !== expectedManifestVersion) {
    report(
      `manifest_version is ${manifest.manifest_version}; the ${options.browser} build uses ${expectedManifestVersion}.`,
    );
  }
  if (manifest.version !== options.expectedVersion) {
    report(
      `version is ${manifest.version}, but package.json says ${options.expectedVersion}.`,
    );
  }
  if (!/^\d+(\.\d+){0,3}$/.test(manifest.version ?? '')) {
    report(
      `version "${manifest.version}" is not one to four dot-separated integers.`,
    );
  }
  const name = localize(manifest.name, messages, report);
  if (!name) {
    report('The manifest has no name.');
  }
  const description = localize(manifest.description, messages, report) ?? '';
  if (description.length === 0) {
    report('The manifest has no description.');
  }
  if (description.length > MAX_DESCRIPTION_CHARS) {
    report(
      `The description has ${description.length} characters; the Chrome Web Store allows ${MAX_DESCRIPTION_CHARS}.`,
    );
  }

  const referenced = [
    manifest.background?.service_worker,
    ...(manifest.background?.scripts ?? []),
    manifest.action?.default_popup,
    manifest.browser_action?.default_popup,
    manifest.side_panel?.default_path,
    manifest.sidebar_action?.default_panel,
    manifest.options_ui?.page,
  ].filter((path): path is string => path !== undefined);
  for (const path of referenced) {
    if (!paths.includes(path)) {
      report(`The manifest names ${path}, which the zip does not contain.`);
    }
  }

  if (options.browser === 'chrome') {
    checkChromeManifest(manifest, report);
  } else {
    checkFirefoxManifest(manifest, report);
  }
}

function checkChromeManifest(manifest: Manifest, report: Report): void {
  if (!manifest.background?.service_worker) {
    report('The Chrome manifest has no background.service_worker.');
  }
  if (!manifest.side_panel?.default_path) {
    report('The Chrome manifest has no side_panel.default_path.');
  }
  if (!manifest.action?.default_popup) {
    report('The Chrome manifest has no action.default_popup.');
  }
}

function checkFirefoxManifest(manifest: Manifest, report: Report): void {
  const gecko = manifest.browser_specific_settings?.gecko;
  if (!gecko?.id) {
    report('The Firefox manifest has no browser_specific_settings.gecko.id.');
  }
  const dataCollection = gecko?.data_collection_permissions;
  const required = dataCollection?.required ?? [];
  if (required.length === 0) {
    report(
      'The Firefox manifest has no data_collection_permissions.required, which addons.mozilla.org requires of new add-ons.',
    );
  }
  for (const type of [...required, ...(dataCollection?.optional ?? [])]) {
    if (!(FIREFOX_DATA_TYPES as readonly string[]).includes(type)) {
      report(`"${type}" is not a Firefox data collection type.`);
    }
  }
  if (required.includes('none') && required.length > 1) {
    report('data_collection_permissions.required lists "none" with others.');
  }
  if (!manifest.sidebar_action?.default_panel) {
    report('The Firefox manifest has no sidebar_action.default_panel.');
  }
}

async function checkIcons(
  zip: JSZip,
  manifest: Manifest,
  browser: StoreBrowser,
  report: Report,
): Promise<void> {
  for (const size of REQUIRED_ICON_SIZES[browser]) {
    const path = manifest.icons?.[String(size)];
    if (!path) {
      report(`The manifest lists no ${size} px icon.`);
      continue;
    }
    const file = zip.file(path);
    if (!file) {
      report(`The ${size} px icon ${path} is not in the zip.`);
      continue;
    }
    const png = Buffer.from(await file.async('uint8array'));
    // A PNG's width and height are big-endian 32-bit integers at bytes 16 to 23.
    const width = png.readUInt32BE(16);
    const height = png.readUInt32BE(20);
    if (width !== size || height !== size) {
      report(`${path} is ${width}x${height}, not ${size}x${size}.`);
    }
  }
}
