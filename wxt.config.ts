import { defineConfig } from 'wxt';

const backendUrl = new URL(
  process.env.WXT_BACKEND_URL ?? 'http://127.0.0.1:8787',
);

export default defineConfig({
  modules: ['@wxt-dev/module-react', '@wxt-dev/webextension-polyfill'],
  manifest: ({ browser }) => ({
    name: 'Tokenwise',
    description:
      'An AI assistant in the side panel, with a free token allowance you can watch.',
    permissions: ['storage', ...(browser === 'firefox' ? [] : ['sidePanel'])],
    // The backend is the only origin the extension talks to.
    host_permissions: [`${backendUrl.origin}/*`],
    action: { default_title: 'Tokenwise' },
    commands: {
      'open-side-panel': {
        suggested_key: { default: 'Alt+Shift+T' },
        description: 'Open the Tokenwise side panel',
      },
    },
  }),
});
