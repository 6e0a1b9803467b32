/**
 * Shared pieces of the security tests: a backend on the fake provider with
 * rate limits and the answer cache out of the way, distinctive secrets to
 * scan for, and checks that an install holds no reservation.
 */
import { expect } from 'vitest';
import type { FakeProvider } from '../fake-provider/index';
import { startTestBackend, type TestBackend } from '../server/helpers';

/**
 * Secrets with values that appear nowhere else, so a scan that finds one
 * has found a leak. Each is long enough for the configuration's minimums.
 */
export const DISTINCTIVE_SECRETS = {
  OPENAI_API_KEY: 'sk-leakcheck-openai-4f9c2a71d0e84b6f',
  GEMINI_API_KEY: 'AIza-leakcheck-gemini-8e1d5b3c7a90f2',
  ANTHROPIC_API_KEY: 'sk-ant-leakcheck-anthropic-2b7e9d41c6',
  TOKENWISE_ADMIN_KEY: 'leakcheck-admin-key-6d2f8a0b9c1e3f57',
  TOKENWISE_INSTALL_SECRET: 'leakcheck-install-secret-91c4e7b2a5d8f036',
} as const;

/** Chrome extension id allowed by CORS in these tests. */
export const ALLOWED_CHROME_ID = 'abcdefghijklmnopabcdefghijklmnop';

/** Firefox moz-extension UUID allowed by CORS in these tests. */
export const ALLOWED_FIREFOX_UUID = '0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d';

/**
 * Starts a backend whose tiers both use the fake provider's OpenAI format,
 * with rate limits far above what a test sends and the server answer cache
 * off, so every accepted question reaches the provider.
 */
export async function startSecurityBackend(options: {
  directory: string;
  fake: FakeProvider;
  env?: Record<string, string>;
}): Promise<TestBackend> {
  return startTestBackend(options.directory, {
    OPENAI_API_KEY: 'test-openai-key',
    OPENAI_BASE_URL: options.fake.openaiBaseUrl,
    TOKENWISE_CHEAP_MODEL: 'openai:gpt-5-mini',
    TOKENWISE_PREMIUM_MODEL: 'openai:gpt-5.5',
    TOKENWISE_REQUESTS_PER_MINUTE: '1000000',
    TOKENWISE_TOKENS_PER_MINUTE: '1000000000',
    TOKENWISE_REGISTRATIONS_PER_HOUR: '1000000',
    TOKENWISE_CACHE_TTL_SECONDS: '0',
    TOKENWISE_MAX_ATTEMPTS: '1',
    TOKENWISE_EXTENSION_IDS: `${ALLOWED_CHROME_ID},${ALLOWED_FIREFOX_UUID}`,
    ...options.env,
  });
}

/**
 * Asserts that an install holds no reservation: the balance reserves
 * nothing and every reserve entry in the ledger was settled or released.
 */
export async function expectNoHeldReservation(
  backend: TestBackend,
  installId: string,
): Promise<void> {
  const balance = await backend.store.getBalance(installId, new Date());
  expect(balance.reserved).toBe(0);

  const entries = await backend.store.listLedgerEntries(installId);
  const reserved = entries
    .filter((entry) => entry.kind === 'reserve')
    .map((entry) => entry.requestId);
  const closed = new Set(
    entries
      .filter((entry) => entry.kind === 'settle' || entry.kind === 'release')
      .map((entry) => entry.requestId),
  );
  expect(reserved.filter((requestId) => !closed.has(requestId))).toEqual([]);
}

/** Returns the names of the secrets whose values occur in `text`. */
export function findSecrets(
  text: string,
  secrets: Record<string, string> = DISTINCTIVE_SECRETS,
): string[] {
  return Object.entries(secrets)
    .filter(([, value]) => text.includes(value))
    .map(([name]) => name);
}
