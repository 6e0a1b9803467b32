import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AnswerCache,
  DEFAULT_CACHE_MAX_AGE_MS,
  isCompleteFinishReason,
  type FinishedAnswer,
} from '../../../lib/extension/answer-cache';
import { TokenwiseDatabase } from '../../../lib/extension/database';

function finishedAnswer(
  overrides: Partial<FinishedAnswer> = {},
): FinishedAnswer {
  return {
    key: 'key-1',
    installId: 'install-1',
    question: 'What is the capital of France?',
    tier: 'cheap',
    model: 'demo:gemini-3-flash',
    score: 0.1,
    reasons: ['short, general question'],
    text: 'Paris.',
    finishReason: 'stop',
    inputTokens: 20,
    outputTokens: 3,
    charged: 23,
    ...overrides,
  };
}

describe('AnswerCache', () => {
  let database: TokenwiseDatabase;
  let now: number;
  let cache: AnswerCache;

  beforeEach(() => {
    database = new TokenwiseDatabase(`test-${randomUUID()}`);
    now = Date.parse('2026-01-10T12:00:00Z');
    cache = new AnswerCache(database, { now: () => now });
  });

  afterEach(async () => {
    await database.delete();
  });

  it('returns a stored answer on a hit', async () => {
    expect(await cache.store(finishedAnswer())).toBe(true);

    const hit = await cache.lookup(['key-1']);
    expect(hit?.text).toBe('Paris.');
    expect(hit?.model).toBe('demo:gemini-3-flash');
    expect(hit?.charged).toBe(23);
    expect(hit?.normalizedQuestion).toBe('what is the capital of france');
  });

  it('records hits', async () => {
    await cache.store(finishedAnswer());
    now += 1_000;
    await cache.lookup(['key-1']);
    const second = await cache.lookup(['key-1']);

    expect(second?.hitCount).toBe(2);
    expect(second?.lastUsedAt).toBe(now);
    expect((await database.answers.get('key-1'))?.hitCount).toBe(2);
  });

  it('misses an unknown key', async () => {
    await cache.store(finishedAnswer());
    expect(await cache.lookup(['key-2'])).toBeUndefined();
  });

  it('returns the first key that hits', async () => {
    await cache.store(finishedAnswer({ key: 'older', text: 'Older.' }));
    await cache.store(finishedAnswer({ key: 'newer', text: 'Newer.' }));

    expect((await cache.lookup(['missing', 'newer', 'older']))?.text).toBe(
      'Newer.',
    );
  });

  it.each(['length', 'max_tokens', 'content_filter', 'SAFETY'])(
    'does not store an answer cut by %s',
    async (finishReason) => {
      expect(await cache.store(finishedAnswer({ finishReason }))).toBe(false);
      expect(await cache.count()).toBe(0);
    },
  );

  it('does not store an empty answer', async () => {
    expect(await cache.store(finishedAnswer({ text: '' }))).toBe(false);
    expect(await cache.count()).toBe(0);
  });

  it('drops an expired answer', async () => {
    await cache.store(finishedAnswer());
    now += DEFAULT_CACHE_MAX_AGE_MS + 1;

    expect(await cache.lookup(['key-1'])).toBeUndefined();
    expect(await cache.count()).toBe(0);
  });

  it('serves an answer just inside its age', async () => {
    await cache.store(finishedAnswer());
    now += DEFAULT_CACHE_MAX_AGE_MS;
    expect(await cache.lookup(['key-1'])).toBeDefined();
  });

  it('survives reopening the database', async () => {
    await cache.store(finishedAnswer());
    database.close();

    const reopened = new TokenwiseDatabase(database.name);
    const hit = await new AnswerCache(reopened, { now: () => now }).lookup([
      'key-1',
    ]);
    expect(hit?.text).toBe('Paris.');
    reopened.close();
    await database.open();
  });

  it('clears every entry', async () => {
    await cache.store(finishedAnswer({ key: 'a' }));
    await cache.store(finishedAnswer({ key: 'b' }));
    await cache.clear();
    expect(await cache.count()).toBe(0);
  });
});

describe('isCompleteFinishReason', () => {
  it.each([
    ['stop', true],
    ['end_turn', true],
    ['STOP', true],
    ['length', false],
    ['max_tokens', false],
    ['content_filter', false],
  ])('%s is complete: %s', (finishReason, complete) => {
    expect(isCompleteFinishReason(finishReason)).toBe(complete);
  });
});
