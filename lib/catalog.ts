/**
 * The model catalog: which provider serves a model, and its list price in
 * US dollars per million input, cached input and output tokens.
 *
 * NOTE: prices are the providers' published list prices as the catalog's
 * authors last read them; check the provider's pricing page and override
 * them with a JSON file (`TOKENWISE_PRICES_FILE`) before trusting a bill.
 */

export type ProviderName = 'openai' | 'gemini' | 'anthropic' | 'demo';

export interface ModelPrice {
  /** Dollars per million uncached input tokens. */
  input: number;
  /** Dollars per million input tokens read from the provider's prompt cache. */
  cachedInput: number;
  /** Dollars per million output tokens, reasoning tokens included. */
  output: number;
}

/** Default prices, keyed by `provider:model`. */
export const DEFAULT_PRICES: Record<string, ModelPrice> = {
  'gemini:gemini-3-flash': { input: 0.5, cachedInput: 0.05, output: 3 },
  'gemini:gemini-2.5-flash': { input: 0.3, cachedInput: 0.03, output: 2.5 },
  'gemini:gemini-2.5-flash-lite': {
    input: 0.1,
    cachedInput: 0.01,
    output: 0.4,
  },
  'gemini:gemini-3-pro': { input: 2, cachedInput: 0.2, output: 12 },
  'openai:gpt-5.5': { input: 5, cachedInput: 0.5, output: 30 },
  'openai:gpt-5': { input: 1.25, cachedInput: 0.125, output: 10 },
  'openai:gpt-5-mini': { input: 0.25, cachedInput: 0.025, output: 2 },
  'openai:gpt-5-nano': { input: 0.05, cachedInput: 0.005, output: 0.4 },
  'anthropic:claude-opus-4-5': { input: 5, cachedInput: 0.5, output: 25 },
  'anthropic:claude-sonnet-4-5': { input: 3, cachedInput: 0.3, output: 15 },
  'anthropic:claude-haiku-4-5': { input: 1, cachedInput: 0.1, output: 5 },
};

/** The price of a model the catalog does not list: free, and flagged by callers. */
export const UNKNOWN_PRICE: ModelPrice = {
  input: 0,
  cachedInput: 0,
  output: 0,
};

export interface ModelRef {
  provider: ProviderName;
  model: string;
}

/**
 * Parses a `provider:model` reference such as `openai:gpt-5.5`.
 * Throws an Error naming the value when the provider is unknown or the
 * model is empty.
 */
export function parseModelRef(value: string): ModelRef {
  const separator = value.indexOf(':');
  const provider = value.slice(0, separator);
  const model = value.slice(separator + 1);

  if (separator <= 0 || model === '') {
    throw new Error(
      `Invalid model "${value}": write it as provider:model, for example openai:gpt-5.5.`,
    );
  }
  if (!isProviderName(provider)) {
    throw new Error(
      `Unknown provider "${provider}" in model "${value}": use openai, gemini, anthropic or demo.`,
    );
  }
  return { provider, model };
}

function isProviderName(value: string): value is ProviderName {
  return ['openai', 'gemini', 'anthropic', 'demo'].includes(value);
}

/** Formats a model reference as `provider:model`. */
export function formatModelRef(ref: ModelRef): string {
  return `${ref.provider}:${ref.model}`;
}

export interface TokenCounts {
  /** All input tokens, cached ones included. */
  inputTokens: number;
  /** The part of inputTokens read from the provider's prompt cache. */
  cachedInputTokens: number;
  outputTokens: number;
}

/**
 * Computes the cost in US dollars of one call from its token counts, with
 * cached input at its discounted price.
 */
export function computeCostUsd(price: ModelPrice, counts: TokenCounts): number {
  const cached = Math.min(counts.cachedInputTokens, counts.inputTokens);
  const uncached = counts.inputTokens - cached;
  const micro =
    uncached * price.input +
    cached * price.cachedInput +
    counts.outputTokens * price.output;
  return micro / 1_000_000;
}
