import { describe, expect, it } from 'vitest';
import {
  computeCostUsd,
  DEFAULT_PRICES,
  formatModelRef,
  type ModelPrice,
  parseModelRef,
} from './catalog';

describe('parseModelRef', () => {
  it.each([
    ['openai:gpt-5.5', 'openai', 'gpt-5.5'],
    ['gemini:gemini-3-flash', 'gemini', 'gemini-3-flash'],
    ['anthropic:claude-haiku-4-5', 'anthropic', 'claude-haiku-4-5'],
    ['demo:offline', 'demo', 'offline'],
    ['openai:ft:gpt-5-mini:acme:1', 'openai', 'ft:gpt-5-mini:acme:1'],
  ])('parses %j', (value, provider, model) => {
    expect(parseModelRef(value)).toEqual({ provider, model });
  });

  it.each([
    ['', 'Invalid model "": write it as provider:model'],
    ['gpt-5.5', 'Invalid model "gpt-5.5": write it as provider:model'],
    [':gpt-5.5', 'Invalid model ":gpt-5.5": write it as provider:model'],
    ['openai:', 'Invalid model "openai:": write it as provider:model'],
    [
      'azure:gpt-5.5',
      'Unknown provider "azure" in model "azure:gpt-5.5": use openai, gemini, anthropic or demo.',
    ],
    ['OpenAI:gpt-5.5', 'Unknown provider "OpenAI" in model "OpenAI:gpt-5.5"'],
  ])('rejects %j', (value, message) => {
    expect(() => parseModelRef(value)).toThrow(message);
  });

  it('round-trips through formatModelRef', () => {
    for (const key of Object.keys(DEFAULT_PRICES)) {
      expect(formatModelRef(parseModelRef(key))).toBe(key);
    }
  });
});

describe('computeCostUsd', () => {
  const price: ModelPrice = { input: 5, cachedInput: 0.5, output: 30 };

  it('prices uncached input and output', () => {
    const cost = computeCostUsd(price, {
      inputTokens: 1_000_000,
      cachedInputTokens: 0,
      outputTokens: 100_000,
    });

    expect(cost).toBeCloseTo(5 + 3, 10);
  });

  it('prices cached input at its discount', () => {
    const cost = computeCostUsd(price, {
      inputTokens: 1_000_000,
      cachedInputTokens: 800_000,
      outputTokens: 0,
    });

    expect(cost).toBeCloseTo(0.2 * 5 + 0.8 * 0.5, 10);
  });

  it('caps cached input at the input count', () => {
    const cost = computeCostUsd(price, {
      inputTokens: 1_000,
      cachedInputTokens: 5_000,
      outputTokens: 0,
    });

    expect(cost).toBeCloseTo((1_000 * 0.5) / 1_000_000, 12);
  });

  it('costs nothing for no tokens', () => {
    const cost = computeCostUsd(price, {
      inputTokens: 0,
      cachedInputTokens: 0,
      outputTokens: 0,
    });

    expect(cost).toBe(0);
  });

  it('prices a small call of a catalog model', () => {
    const cost = computeCostUsd(DEFAULT_PRICES['openai:gpt-5.5']!, {
      inputTokens: 1_200,
      cachedInputTokens: 1_000,
      outputTokens: 300,
    });

    expect(cost).toBeCloseTo((200 * 5 + 1_000 * 0.5 + 300 * 30) / 1e6, 12);
  });
});
