/**
 * Every environment variable the backend reads, with its unit and default.
 * The help text and configuration errors are written from this table, so a
 * new variable is added here and in the schema in config.ts.
 */

export interface ConfigVariable {
  name: string;
  /** The `serve` option that overrides the variable, if any. */
  option?: string;
  /** Description of the setting, as one sentence. */
  description: string;
  /** The unit or format of the value. */
  unit: string;
  /** The default, as written in the help text; undefined means unset. */
  defaultValue?: string;
  /** True for keys and secrets, whose values never appear in messages. */
  secret?: boolean;
}

export const CONFIG_VARIABLES: readonly ConfigVariable[] = [
  {
    name: 'PORT',
    option: '--port',
    description: 'TCP port the backend listens on; 0 picks a free port.',
    unit: 'port number, 0 to 65535',
    defaultValue: '8787',
  },
  {
    name: 'HOST',
    option: '--host',
    description: 'Interface the backend listens on.',
    unit: 'host name or IP address',
    defaultValue: '127.0.0.1',
  },
  {
    name: 'TOKENWISE_DATABASE_URL',
    option: '--database',
    description:
      'SQLite database file, created and migrated on start; the install secret is kept beside it.',
    unit: 'file path, sqlite:PATH or file:PATH URL',
    defaultValue: 'data/tokenwise.db',
  },
  {
    name: 'TOKENWISE_CHEAP_MODEL',
    description: 'Model for the cheap tier.',
    unit: 'provider:model, provider one of openai, gemini, anthropic, demo',
    defaultValue: 'gemini:gemini-3-flash',
  },
  {
    name: 'TOKENWISE_PREMIUM_MODEL',
    description: 'Model for the premium tier.',
    unit: 'provider:model, provider one of openai, gemini, anthropic, demo',
    defaultValue: 'openai:gpt-5.5',
  },
  {
    name: 'OPENAI_API_KEY',
    description:
      'OpenAI API key; without it, tiers on openai use the offline demo model.',
    unit: 'secret string',
    secret: true,
  },
  {
    name: 'OPENAI_BASE_URL',
    description:
      'Base URL of the OpenAI-compatible API that openai models are called on.',
    unit: 'http(s) URL',
    defaultValue: 'https://api.openai.com/v1',
  },
  {
    name: 'GEMINI_API_KEY',
    description:
      'Gemini API key; without it, tiers on gemini use the offline demo model.',
    unit: 'secret string',
    secret: true,
  },
  {
    name: 'GEMINI_BASE_URL',
    description:
      'Base URL of the Gemini API, called natively; a trailing /v1beta/openai (the OpenAI-compatible endpoint) is accepted.',
    unit: 'http(s) URL',
    defaultValue: 'https://generativelanguage.googleapis.com/v1beta/openai',
  },
  {
    name: 'ANTHROPIC_API_KEY',
    description:
      'Anthropic API key; without it, tiers on anthropic use the offline demo model.',
    unit: 'secret string',
    secret: true,
  },
  {
    name: 'ANTHROPIC_BASE_URL',
    description:
      'Base URL of the Anthropic Messages API; a trailing /v1 is accepted.',
    unit: 'http(s) URL',
    defaultValue: 'https://api.anthropic.com/v1',
  },
  {
    name: 'TOKENWISE_FREE_TOKENS',
    description: "Free plan's allowance per monthly period.",
    unit: 'allowance tokens',
    defaultValue: '200000',
  },
  {
    name: 'TOKENWISE_PREMIUM_WEIGHT',
    description:
      'Allowance tokens charged per premium-tier token on the free plan.',
    unit: 'number greater than 0',
    defaultValue: '5',
  },
  {
    name: 'TOKENWISE_MAX_OUTPUT_TOKENS',
    description:
      'Output cap per answer, reserved before the provider call; shrinks when the allowance is low.',
    unit: 'tokens, at least 64',
    defaultValue: '1024',
  },
  {
    name: 'TOKENWISE_MAX_INPUT_TOKENS',
    description:
      'Largest prompt accepted (system prompt, history, page context and question); larger ones get 413 prompt_too_large.',
    unit: 'tokens',
    defaultValue: '100000',
  },
  {
    name: 'TOKENWISE_ADMIN_KEY',
    description:
      'Key for the admin endpoints, which this version does not serve yet.',
    unit: 'secret string, at least 24 characters',
    secret: true,
  },
  {
    name: 'TOKENWISE_INSTALL_SECRET',
    description:
      'HMAC key that signs install tokens; when unset, one is generated on first start and kept in install-secret beside the database.',
    unit: 'secret string, at least 32 characters',
    secret: true,
  },
  {
    name: 'TOKENWISE_TOKEN_TTL_DAYS',
    description: 'Lifetime of an install token.',
    unit: 'days',
    defaultValue: '30',
  },
  {
    name: 'TOKENWISE_PRICES_FILE',
    description:
      'JSON file of prices that override the built-in catalog: {"provider:model": {"input", "cachedInput", "output"}}.',
    unit: 'file path; prices in US dollars per million tokens',
  },
  {
    name: 'TOKENWISE_LOG_LEVEL',
    description: 'Lowest log level written to standard output.',
    unit: 'fatal, error, warn, info, debug, trace or silent',
    defaultValue: 'info',
  },
];

/** Finds a variable's entry; throws when the name is not in the table. */
export function findConfigVariable(name: string): ConfigVariable {
  const variable = CONFIG_VARIABLES.find((entry) => entry.name === name);
  if (!variable) {
    throw new Error(`No configuration variable is named ${name}.`);
  }
  return variable;
}
