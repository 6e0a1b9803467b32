import { defineConfig } from 'wxt';

const backendUrl = new URL(
  process.env.WXT_BACKEND_URL ?? 'http://127.0.0.1:8787',
);

export default defineConfig({
  modules: ['@wxt-dev/module-react', '@wxt-dev/webextension-polyfill'],
  // Scripts that build for a throwaway backend write elsewhere than .output.
  outDir: process.env.TOKENWISE_BUILD_DIR || '.output',
  manifest: ({ browser }) => ({
    name: 'Tokenwise',
    description:
      'An AI assistant in the side panel, with a free token allowance you can watch.',
    permissions: ['storage', ...(browser === 'firefox' ? [] : ['sidePanel'])],
    // The backend is the only origin the extension talks to.
    host_permissions: [`${backendUrl.origin}/*`],
    // sidePanel.open(), which the popup and the keyboard command call,
    // arrived in Chrome 116.
    ...(browser === 'firefox' ? {} : { minimum_chrome_version: '116' }),
    action: { default_title: 'Tokenwise' },
    commands: {
      'open-side-panel': {
        suggested_key: { default: 'Alt+Shift+T' },
        description: 'Open the Tokenwise side panel',
      },
    },
  }),
});
