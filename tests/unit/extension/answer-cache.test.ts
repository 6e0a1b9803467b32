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

describe('AnswerCache size cap', () => {
  let database: TokenwiseDatabase;
  let now: number;

  beforeEach(() => {
    database = new TokenwiseDatabase(`test-${randomUUID()}`);
    now = Date.parse('2026-01-10T12:00:00Z');
  });

  afterEach(async () => {
    await database.delete();
  });

  it('evicts the least recently used entry', async () => {
    const probe = new AnswerCache(database, { now: () => now });
    await probe.store(finishedAnswer({ key: 'probe' }));
    const entryBytes = (await probe.stats()).bytes;
    await probe.clear();

    const cache = new AnswerCache(database, {
      now: () => now,
      maxBytes: entryBytes * 2 + entryBytes / 2,
    });
    await cache.store(finishedAnswer({ key: 'a' }));
    now += 1;
    await cache.store(finishedAnswer({ key: 'b' }));
    now += 1;
    // Using "a" makes "b" the least recently used.
    await cache.lookup(['a']);
    now += 1;
    await cache.store(finishedAnswer({ key: 'c' }));

    expect(await database.answers.get('a')).toBeDefined();
    expect(await database.answers.get('b')).toBeUndefined();
    expect(await database.answers.get('c')).toBeDefined();
    const stats = await cache.stats();
    expect(stats.entries).toBe(2);
    expect(stats.bytes).toBeLessThanOrEqual(entryBytes * 2.5);
  });

  it('keeps the byte total equal to the entries', async () => {
    const cache = new AnswerCache(database, { now: () => now });
    await cache.store(finishedAnswer({ key: 'a', text: 'x'.repeat(1000) }));
    await cache.store(finishedAnswer({ key: 'b' }));
    await cache.store(finishedAnswer({ key: 'a', text: 'short' }));

    const entries = await database.answers.toArray();
    const sum = entries.reduce((total, entry) => total + entry.bytes, 0);
    expect((await cache.stats()).bytes).toBe(sum);
  });

  it('rejects an entry larger than the cap', async () => {
    const cache = new AnswerCache(database, { now: () => now, maxBytes: 100 });
    expect(await cache.store(finishedAnswer())).toBe(false);
    expect(await cache.count()).toBe(0);
  });

  it('applies a smaller cap from configure', async () => {
    const cache = new AnswerCache(database, { now: () => now });
    await cache.store(finishedAnswer({ key: 'a' }));
    now += 1;
    await cache.store(finishedAnswer({ key: 'b' }));
    const { bytes } = await cache.stats();

    cache.configure({ maxBytes: Math.ceil(bytes * 0.75) });
    now += 1;
    await cache.store(finishedAnswer({ key: 'c' }));

    expect(await database.answers.get('a')).toBeUndefined();
    expect(await cache.count()).toBe(1);
  });

  it('applies a shorter age from configure', async () => {
    const cache = new AnswerCache(database, { now: () => now });
    await cache.store(finishedAnswer());
    now += 2 * 60 * 60 * 1000;
    cache.configure({ maxAgeMs: 60 * 60 * 1000 });
    expect(await cache.lookup(['key-1'])).toBeUndefined();
  });
});

describe('AnswerCache stats', () => {
  let database: TokenwiseDatabase;
  let cache: AnswerCache;

  beforeEach(() => {
    database = new TokenwiseDatabase(`test-${randomUUID()}`);
    cache = new AnswerCache(database);
  });

  afterEach(async () => {
    await database.delete();
  });

  it('counts hits and tokens saved', async () => {
    await cache.store(finishedAnswer({ charged: 40 }));
    await cache.lookup(['key-1']);
    await cache.lookup(['key-1']);
    await cache.lookup(['missing']);

    const stats = await cache.stats();
    expect(stats.hits).toBe(2);
    expect(stats.tokensSaved).toBe(80);
    expect(stats.entries).toBe(1);
    expect(stats.bytes).toBeGreaterThan(0);
  });

  it('resets everything on clear', async () => {
    await cache.store(finishedAnswer());
    await cache.lookup(['key-1']);
    await cache.clear();
    expect(await cache.stats()).toEqual({
      entries: 0,
      bytes: 0,
      hits: 0,
      tokensSaved: 0,
    });
  });
});

describe('AnswerCache.findSimilar', () => {
  let database: TokenwiseDatabase;
  let cache: AnswerCache;
  const sameFirstWord = (a: string, b: string) =>
    a.split(' ')[0] === b.split(' ')[0] ? 0.9 : 0.1;
  const aboveHalf = (score: number) => score >= 0.5;

  beforeEach(() => {
    database = new TokenwiseDatabase(`test-${randomUUID()}`);
    cache = new AnswerCache(database);
  });

  afterEach(async () => {
    await database.delete();
  });

  it('offers a context-free entry of the same install', async () => {
    await cache.store(
      finishedAnswer({ question: 'Paris facts', contextFree: true }),
    );
    const similar = await cache.findSimilar({
      installId: 'install-1',
      question: 'Paris population',
      score: sameFirstWord,
      isSimilar: aboveHalf,
    });
    expect(similar?.entry.question).toBe('Paris facts');
    expect(similar?.score).toBe(0.9);
  });

  it.each([
    ['another install', { installId: 'install-2', contextFree: true }],
    ['an entry with context', { contextFree: false }],
  ])('never offers %s', async (_name, overrides) => {
    await cache.store(
      finishedAnswer({ question: 'Paris facts', ...overrides }),
    );
    const similar = await cache.findSimilar({
      installId: 'install-1',
      question: 'Paris population',
      score: sameFirstWord,
      isSimilar: aboveHalf,
    });
    expect(similar).toBeUndefined();
  });

  it('offers nothing below the threshold', async () => {
    await cache.store(
      finishedAnswer({ question: 'Berlin facts', contextFree: true }),
    );
    const similar = await cache.findSimilar({
      installId: 'install-1',
      question: 'Paris population',
      score: sameFirstWord,
      isSimilar: aboveHalf,
    });
    expect(similar).toBeUndefined();
  });

  it('counts a hit only when the offer is used', async () => {
    await cache.store(
      finishedAnswer({ question: 'Paris facts', contextFree: true }),
    );
    await cache.findSimilar({
      installId: 'install-1',
      question: 'Paris population',
      score: sameFirstWord,
      isSimilar: aboveHalf,
    });
    expect((await cache.stats()).hits).toBe(0);
    expect((await cache.use('key-1'))?.text).toBe('Paris.');
    expect((await cache.stats()).hits).toBe(1);
  });
});
