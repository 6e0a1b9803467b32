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
  manifest: ({ browser }) => ({
    name: '__MSG_extensionName__',
    description: '__MSG_extensionDescription__',
    default_locale: 'en',
    permissions: [
      'storage',
      'contextMenus',
      // activeTab covers the tab of a context-menu click; scripting
      // injects the page reader only when the user asks about a page.
      'activeTab',
      'scripting',
      ...(browser === 'firefox' ? [] : ['sidePanel']),
    ],
    // The backend is the only origin the extension talks to by default.
    host_permissions: [`${backendUrl.origin}/*`, ...testHostPermissions],
    // Requested at run time, one origin at a time: a self-hosted backend
    // from the options page, or a page the user asks about.
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
