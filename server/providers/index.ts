/**
 * Builds the provider adapter behind each tier from the configuration: the
 * configured provider when its API key is set, otherwise the offline demo
 * model. OpenAI goes through the OpenAI-compatible adapter; Gemini and
 * Anthropic through their native APIs.
 */
import { formatModelRef, type ModelRef } from '../../lib/catalog';
import type { Tier } from '../../lib/protocol';
import type { Config, NetworkProvider, ProviderSettings } from '../config';
import { createAnthropicAdapter } from './anthropic';
import { createDemoAdapter, demoModelName } from './demo';
import { createGeminiAdapter } from './gemini';
import { createOpenAiCompatibleAdapter } from './openai-compatible';
import type { ProviderAdapter } from './types';

export interface TierProvider {
  tier: Tier;
  /** The configured model of the tier. */
  modelRef: ModelRef;
  /** Model name as the route event and the ledger show it, e.g. openai:gpt-5.5 or demo:openai:gpt-5.5. */
  modelName: string;
  adapter: ProviderAdapter;
  /** True when the tier runs on the offline demo model. */
  demo: boolean;
  /** Reason the tier is on the demo model, for the start-up warning. */
  demoReason?: string;
  /**
   * Same-tier model tried when the tier's model fails before answering.
   * Never the demo model, and absent when the tier itself is on the demo
   * model or the fallback's provider has no key.
   */
  fallback?: FallbackProvider;
}

/** A tier's fallback model and the adapter that serves it. */
export interface FallbackProvider {
  modelRef: ModelRef;
  /** `provider:model`, as the ledger and the usage event show it. */
  modelName: string;
  adapter: ProviderAdapter;
}

export type TierProviders = Record<Tier, TierProvider>;

/** Creates the adapter for a network provider with a key. */
export function createProviderAdapter(
  provider: NetworkProvider,
  settings: ProviderSettings & { apiKey: string },
): ProviderAdapter {
  const { apiKey, baseUrl } = settings;
  if (provider === 'gemini') {
    return createGeminiAdapter({ apiKey, baseUrl });
  }
  if (provider === 'anthropic') {
    return createAnthropicAdapter({ apiKey, baseUrl });
  }
  // OpenAI's reasoning models reject `max_tokens` and need
  // `max_completion_tokens`.
  return createOpenAiCompatibleAdapter({
    provider,
    apiKey,
    baseUrl,
    maxTokensParameter: 'max_completion_tokens',
  });
}

export interface CreateTierProvidersOptions {
  /** Pause between the demo model's deltas, in milliseconds. */
  demoDeltaDelayMs?: number;
}

/** Builds the cheap and premium tiers' providers. */
export function createTierProviders(
  config: Pick<Config, 'cheapModel' | 'premiumModel' | 'providers'> &
    Partial<Pick<Config, 'fallbackModels'>>,
  options: CreateTierProvidersOptions = {},
): TierProviders {
  const cheap = createTierProvider('cheap', config.cheapModel, config, options);
  const premium = createTierProvider(
    'premium',
    config.premiumModel,
    config,
    options,
  );
  return {
    cheap: withFallback(cheap, config.fallbackModels?.cheap, config),
    premium: withFallback(premium, config.fallbackModels?.premium, config),
  };
}

/**
 * Adds the fallback to a tier that runs on a real provider, when the
 * fallback's provider has a key. A demo tier gets none, so a demo answer
 * never hides behind a real model or the reverse.
 */
function withFallback(
  tierProvider: TierProvider,
  modelRef: ModelRef | undefined,
  config: Pick<Config, 'providers'>,
): TierProvider {
  if (
    modelRef === undefined ||
    modelRef.provider === 'demo' ||
    tierProvider.demo
  ) {
    return tierProvider;
  }
  const settings = config.providers[modelRef.provider];
  if (settings.apiKey === undefined) {
    return tierProvider;
  }
  return {
    ...tierProvider,
    fallback: {
      modelRef,
      modelName: formatModelRef(modelRef),
      adapter: createProviderAdapter(modelRef.provider, {
        ...settings,
        apiKey: settings.apiKey,
      }),
    },
  };
}

function createTierProvider(
  tier: Tier,
  modelRef: ModelRef,
  config: Pick<Config, 'providers'>,
  options: CreateTierProvidersOptions,
): TierProvider {
  const configuredModel = formatModelRef(modelRef);

  if (modelRef.provider === 'demo') {
    const variable =
      tier === 'cheap' ? 'TOKENWISE_CHEAP_MODEL' : 'TOKENWISE_PREMIUM_MODEL';
    return {
      tier,
      modelRef,
      modelName: configuredModel,
      adapter: createDemoAdapter({
        tier,
        configuredModel,
        reason: `The ${tier} tier is configured with the demo model (${configuredModel})`,
        remedy: `set ${variable} to a real provider's model and restart the backend`,
        deltaDelayMs: options.demoDeltaDelayMs,
      }),
      demo: true,
      demoReason: `${variable} names the demo provider`,
    };
  }

  const settings = config.providers[modelRef.provider];
  if (settings.apiKey === undefined) {
    return {
      tier,
      modelRef,
      modelName: demoModelName(configuredModel),
      adapter: createDemoAdapter({
        tier,
        configuredModel,
        reason: `No API key is configured for the ${tier} tier (${configuredModel})`,
        remedy: `set ${settings.apiKeyVariable} and restart the backend`,
        deltaDelayMs: options.demoDeltaDelayMs,
      }),
      demo: true,
      demoReason: `${settings.apiKeyVariable} is not set`,
    };
  }

  return {
    tier,
    modelRef,
    modelName: configuredModel,
    adapter: createProviderAdapter(modelRef.provider, {
      ...settings,
      apiKey: settings.apiKey,
    }),
    demo: false,
  };
}
