import { defineConfig } from 'vitest/config';

// End-to-end tests drive the built extension in Chromium against a real
// backend. They share one build and one backend port, so files run one at a
// time.
export default defineConfig({
  test: {
    name: 'e2e',
    include: ['tests/e2e/**/*.test.ts'],
    environment: 'node',
    globalSetup: ['tests/e2e/global-setup.ts'],
    fileParallelism: false,
    testTimeout: 90_000,
    hookTimeout: 180_000,
  },
});
