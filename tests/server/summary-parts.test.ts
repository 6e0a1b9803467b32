/**
 * The pieces of the running summary without a backend: the request sent
 * to the cheap model, its cache key, the cut to the summary cap, the
 * in-memory store, and the configuration of budgets per tier.
 */
import { describe, expect, it } from 'vitest';
import {
  MIN_CONTEXT_TOKENS,
  SUMMARY_MAX_TOKENS,
} from '../../lib/context-budget';
import type { ChatMessage } from '../../lib/protocol';
import { countChatTokens, countTokens } from '../../lib/tokens';
import { ConfigError } from '../../server/config';
import {
  buildSummaryKey,
  buildSummaryRequest,
  fitSummary,
  SUMMARY_INPUT_TOKENS,
  SUMMARY_PROMPT_VERSION,
} from '../../server/context/summary-request';
import {
  createMemorySummaryStore,
  MEMORY_SUMMARY_ENTRIES,
} from '../../server/context/summary-store';
import { createTempDirectory, createTestConfig } from './helpers';

const TURNS: ChatMessage[] = [
  { role: 'user', content: 'Where is the Loire?' },
  { role: 'assistant', content: 'In France.' },
  { role: 'user', content: 'How long is it?' },
  { role: 'assistant', content: 'About 1,000 km.' },
];

describe('buildSummaryRequest', () => {
  it('writes the previous summary and the turns', () => {
    const request = buildSummaryRequest({
      previousSummary: 'They talked about rivers.',
      turns: TURNS,
    });

    const content = request.messages[0]?.content ?? '';
    expect(
      content.startsWith('Previous summary:\nThey talked about rivers.'),
    ).toBe(true);
    expect(content).toContain(
      'User: Where is the Loire?\nAssistant: In France.',
    );
    expect(content.indexOf('Loire')).toBeLessThan(content.indexOf('How long'));
    expect(request.includedTurns).toBe(2);
    expect(request.inputTokens).toBe(
      countChatTokens([
        { role: 'system', content: request.system },
        ...request.messages,
      ]),
    );
  });

  it('stays within its input cap and keeps the newest turns', () => {
    const huge = 'river '.repeat(20_000);
    const turns: ChatMessage[] = Array.from({ length: 20 }, (_, index) => ({
      role: index % 2 === 0 ? 'user' : 'assistant',
      content: `${index === 19 ? 'NEWEST ' : ''}${huge}`,
    }));

    const request = buildSummaryRequest({
      previousSummary: 'word '.repeat(SUMMARY_MAX_TOKENS),
      turns,
    });

    expect(request.inputTokens).toBeLessThanOrEqual(SUMMARY_INPUT_TOKENS);
    expect(request.includedTurns).toBeGreaterThan(0);
    expect(request.includedTurns).toBeLessThan(10);
    expect(request.messages[0]?.content).toContain('NEWEST');
  });
});

describe('buildSummaryKey', () => {
  it('separates installs, contents and roles', () => {
    const key = buildSummaryKey('install-a', TURNS);
    const swapped = TURNS.map((message) => ({
      ...message,
      role:
        message.role === 'user' ? ('assistant' as const) : ('user' as const),
    }));

    expect(key.startsWith(`summary-v${SUMMARY_PROMPT_VERSION}:`)).toBe(true);
    expect(buildSummaryKey('install-a', TURNS)).toBe(key);
    expect(buildSummaryKey('install-b', TURNS)).not.toBe(key);
    expect(buildSummaryKey('install-a', TURNS.slice(0, 2))).not.toBe(key);
    expect(buildSummaryKey('install-a', swapped)).not.toBe(key);
  });
});

describe('fitSummary', () => {
  it('cuts a long summary to the cap', () => {
    const summary = fitSummary(`  ${'rivers and lakes '.repeat(500)}  `);

    expect(countTokens(summary)).toBeLessThanOrEqual(SUMMARY_MAX_TOKENS);
    expect(summary.startsWith('rivers and lakes')).toBe(true);
  });

  it('keeps a short summary whole', () => {
    expect(fitSummary('  Short summary.\n')).toBe('Short summary.');
  });
});

describe('createMemorySummaryStore', () => {
  const summary = (text: string) => ({
    text,
    model: 'openai:gpt-5-mini',
    usage: { inputTokens: 1, cachedInputTokens: 0, outputTokens: 1 },
  });

  it('finds what a claim released', async () => {
    const store = createMemorySummaryStore();

    const first = await store.claim('key', 'install');
    expect(first.kind).toBe('missing');
    if (first.kind === 'missing') {
      await first.release(summary('Stored.'));
    }

    expect(await store.claim('key', 'install')).toEqual({
      kind: 'found',
      text: 'Stored.',
    });
  });

  it('stores nothing for a failed claim', async () => {
    const store = createMemorySummaryStore();
    const claim = await store.claim('key', 'install');
    if (claim.kind === 'missing') {
      await claim.release(undefined);
    }

    expect((await store.claim('key', 'install')).kind).toBe('missing');
  });

  it('drops the least recently used past its size', async () => {
    const store = createMemorySummaryStore();
    for (let index = 0; index <= MEMORY_SUMMARY_ENTRIES; index++) {
      if (index === MEMORY_SUMMARY_ENTRIES) {
        // Reading key-0 makes key-1 the least recently used.
        expect((await store.claim('key-0', 'install')).kind).toBe('found');
      }
      const claim = await store.claim(`key-${index}`, 'install');
      if (claim.kind === 'missing') {
        await claim.release(summary(`Summary ${index}.`));
      }
    }

    expect((await store.claim('key-0', 'install')).kind).toBe('found');
    expect((await store.claim('key-1', 'install')).kind).toBe('missing');
    expect(
      (await store.claim(`key-${MEMORY_SUMMARY_ENTRIES}`, 'install')).kind,
    ).toBe('found');
  });
});

describe('context budget configuration', () => {
  const temp = createTempDirectory();

  it('defaults each tier to the shared output cap', () => {
    const config = createTestConfig(temp.directory, {
      TOKENWISE_MAX_OUTPUT_TOKENS: '500',
      TOKENWISE_PREMIUM_MAX_OUTPUT_TOKENS: '900',
    });

    expect(config.tierBudgets.cheap).toEqual({
      contextTokens: 3_000,
      maxOutputTokens: 500,
    });
    expect(config.tierBudgets.premium).toEqual({
      contextTokens: 8_000,
      maxOutputTokens: 900,
    });
    expect(config.recentTurns).toBe(2);
  });

  it.each([
    ['TOKENWISE_CHEAP_CONTEXT_TOKENS', String(MIN_CONTEXT_TOKENS - 1)],
    ['TOKENWISE_PREMIUM_CONTEXT_TOKENS', 'lots'],
    ['TOKENWISE_CHEAP_MAX_OUTPUT_TOKENS', '63'],
    ['TOKENWISE_PREMIUM_MAX_OUTPUT_TOKENS', '-5'],
    ['TOKENWISE_RECENT_TURNS', '51'],
  ])('rejects %s = %s', (name, value) => {
    expect(() => createTestConfig(temp.directory, { [name]: value })).toThrow(
      ConfigError,
    );
    expect(() => createTestConfig(temp.directory, { [name]: value })).toThrow(
      name,
    );
  });

  it('accepts the smallest context budget', () => {
    const config = createTestConfig(temp.directory, {
      TOKENWISE_CHEAP_CONTEXT_TOKENS: String(MIN_CONTEXT_TOKENS),
      TOKENWISE_RECENT_TURNS: '0',
    });

    expect(config.tierBudgets.cheap.contextTokens).toBe(MIN_CONTEXT_TOKENS);
    expect(config.recentTurns).toBe(0);
  });
});
