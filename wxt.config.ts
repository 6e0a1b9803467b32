import { defineConfig } from 'wxt';

const backendUrl = new URL(
  process.env.WXT_BACKEND_URL ?? 'http://127.0.0.1:8787',
);

// Host patterns granted at install in test builds only, so end-to-end
// tests can read a local page without the permission prompt.
const testHostPermissions = (process.env.TOKENWISE_TEST_HOST_PERMISSIONS ?? '')
  .split(',')
  .filter((pattern) => pattern !== '');

export default defineConfig({
  modules: ['@wxt-dev/module-react', '@wxt-dev/webextension-polyfill'],
  // Scripts that build for a throwaway backend write elsewhere than .output.
  outDir: process.env.TOKENWISE_BUILD_DIR || '.output',
  // `npm run zip`: tokenwise-<package.json version>-<browser>.zip, and for
  // Firefox also the sources archive that add-on review builds from.
  zip: {
    artifactTemplate: '{{name}}-{{packageVersion}}-{{browser}}.zip',
    sourcesTemplate: '{{name}}-{{packageVersion}}-sources.zip',
    exclude: ['**/*.map'],
    // WXT already leaves out dotfiles (.env and the like), node_modules,
    // test files and the output folder. Tests, local data, run output and
    // store material are not needed to build the extension.
    excludeSources: [
      'data/**',
      'test-results/**',
      'demo-output/**',
      'tests/**',
      'bench/**',
      'store/**',
      '**/*.db',
      '**/*.db-*',
      '**/*.zip',
      '**/install-secret',
    ],
  },
  manifest: ({ browser }) => ({
    name: '__MSG_extensionName__',
    description: '__MSG_extensionDescription__',
    default_locale: 'en',
    permissions: [
      'storage',
      'contextMenus',
      // activeTab covers the tab of a toolbar button click, a keyboard
      // command or a context-menu click (not of a click in the side
      // panel); scripting injects the page reader into that tab only when
      // the user asks about the page.
      'activeTab',
      'scripting',
      ...(browser === 'firefox' ? [] : ['sidePanel']),
    ],
    // The backend is the only origin the extension talks to by default.
    host_permissions: [`${backendUrl.origin}/*`, ...testHostPermissions],
    // Requested at run time for one origin only: a self-hosted backend
    // that the user enters on the options page. Pages are read under
    // activeTab, never through these.
    optional_host_permissions: ['https://*/*', 'http://*/*'],
    // sidePanel.open(), which the popup and the keyboard command call,
    // arrived in Chrome 116.
    // Firefox builds Manifest V2, where optional hosts are listed here.
    ...(browser === 'firefox'
      ? {
          optional_permissions: ['https://*/*', 'http://*/*'],
          browser_specific_settings: {
            gecko: {
              id: 'tokenwise@tokenwise.invalid',
              strict_min_version: '128.0',
              // What PRIVACY.md says leaves the browser: the questions
              // typed in the side panel, and a page's text when the user
              // asks about the page. Both go to the backend to be answered.
              data_collection_permissions: {
                required: ['personalCommunications', 'websiteContent'],
              },
            },
          },
        }
      : { minimum_chrome_version: '116' }),
    action: { default_title: '__MSG_extensionName__' },
    commands: {
      'open-side-panel': {
        suggested_key: { default: 'Alt+Shift+T' },
        description: '__MSG_openSidePanelCommand__',
      },
    },
  }),
});
