/**
 * Fuzzed chat bodies against the real backend over HTTP: whatever arrives,
 * the process keeps serving, every response is a valid event stream or a
 * JSON error with a stable code, and no reservation is left held.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorBodySchema } from '../../lib/protocol';
import { startFakeProvider, type FakeProvider } from '../fake-provider/index';
import {
  expectNoHeldReservation,
  startSecurityBackend,
} from '../security/helpers';
import {
  createTempDirectory,
  postChat,
  readChatEvents,
  registerInstall,
  type TestBackend,
} from './helpers';

/** Values that are close to a valid chat request, and many that are not. */
const fuzzedField = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.constantFrom('', ' ', '\u0000', '<|endoftext|>', '\uD800', 'premium'),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), {
    maxKeys: 3,
  }),
);

const fuzzedMessage = fc.record(
  {
    role: fc.oneof(
      fc.constantFrom('user', 'assistant', 'system', 'tool', ''),
      fuzzedField,
    ),
    content: fc.oneof(
      fc.string({ unit: 'binary', maxLength: 80 }),
      fuzzedField,
    ),
  },
  { requiredKeys: [] },
);

const fuzzedRequest = fc.record(
  {
    question: fc.oneof(
      fc.string({ unit: 'binary', minLength: 1, maxLength: 80 }),
      fuzzedField,
    ),
    history: fc.oneof(fc.array(fuzzedMessage, { maxLength: 4 }), fuzzedField),
    pageContext: fc.oneof(
      fc.record(
        {
          title: fuzzedField,
          url: fuzzedField,
          text: fc.string({ unit: 'binary', maxLength: 200 }),
        },
        { requiredKeys: [] },
      ),
      fuzzedField,
    ),
    tier: fc.oneof(fc.constantFrom('auto', 'cheap', 'premium'), fuzzedField),
    requestId: fc.oneof(fc.uuid(), fuzzedField),
    ['__proto__']: fuzzedField,
  },
  { requiredKeys: [] },
);

/** Raw bodies: cut-off JSON, wrong top-level types and binary junk. */
const fuzzedRawBody = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fuzzedRequest.map((request) => {
    const json = JSON.stringify(request);
    return json.slice(0, Math.max(1, json.length - 3));
  }),
  fc.jsonValue().map((value) => JSON.stringify(value) ?? 'null'),
);

describe('chat requests fuzzed against the real app', () => {
  let temp: ReturnType<typeof createTempDirectory>;
  let fake: FakeProvider;
  let backend: TestBackend;
  let installId: string;
  let token: string;

  beforeAll(async () => {
    temp = createTempDirectory();
    fake = await startFakeProvider();
    backend = await startSecurityBackend({ directory: temp.directory, fake });
    ({ installId, token } = await registerInstall(backend.url));
  });

  afterAll(async () => {
    await backend.stop({ drainTimeoutMs: 1_000 });
    await fake.close();
    temp.remove();
  });

  /** Sends one body and checks the response is an answer or a clean error. */
  async function sendAndCheck(body: string): Promise<void> {
    const response = await postChat(backend.url, token, body);
    if (response.status === 200) {
      const events = await readChatEvents(response);
      expect(['done', 'error']).toContain(events.at(-1)?.event);
      return;
    }
    expect([400, 413]).toContain(response.status);
    const error = errorBodySchema.parse(await response.json());
    expect(['invalid_request', 'prompt_too_large']).toContain(error.error.code);
  }

  it('answers or rejects fuzzed request objects', async () => {
    await fc.assert(
      fc.asyncProperty(fuzzedRequest, async (request) => {
        await sendAndCheck(JSON.stringify(request));
      }),
      { numRuns: 150 },
    );

    await expectNoHeldReservation(backend, installId);
    expect((await fetch(`${backend.url}/healthz`)).status).toBe(200);
  });

  it('rejects fuzzed raw bodies', async () => {
    await fc.assert(
      fc.asyncProperty(fuzzedRawBody, async (body) => {
        await sendAndCheck(body);
      }),
      { numRuns: 150 },
    );

    await expectNoHeldReservation(backend, installId);
    expect((await fetch(`${backend.url}/healthz`)).status).toBe(200);
  });

  it('leaves nothing reserved when the provider fails mid-answer', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(
          { type: 'status' as const, status: 500 },
          { type: 'drop-mid-stream' as const, afterDeltas: 1 },
          { type: 'malformed-event' as const },
          { type: 'error-event' as const },
          { type: 'end-without-finish' as const },
        ),
        fc.string({ unit: 'binary', minLength: 1, maxLength: 50 }),
        async (step, question) => {
          fake.enqueue(step);
          await sendAndCheck(JSON.stringify({ question, tier: 'cheap' }));
        },
      ),
      { numRuns: 25 },
    );

    await expectNoHeldReservation(backend, installId);
  });
});
