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
      'SQLite database file or PostgreSQL URL, created or migrated on start; the install secret is kept beside a SQLite file, or in data/ for PostgreSQL.',
    unit: 'file path, sqlite:PATH or file:PATH URL, or postgres://USER@HOST:PORT/DATABASE',
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
    name: 'TOKENWISE_REQUESTS_PER_MINUTE',
    description:
      'Chat requests one install may start per minute on the free plan; more get 429 rate_limited.',
    unit: 'requests per minute',
    defaultValue: '20',
  },
  {
    name: 'TOKENWISE_TOKENS_PER_MINUTE',
    description:
      'Provider tokens (counted input plus output cap) one install may reserve per minute on the free plan.',
    unit: 'tokens per minute',
    defaultValue: '200000',
  },
  {
    name: 'TOKENWISE_PLANS_FILE',
    description:
      'JSON file of plans besides the free one: {"name": {"allowanceTokens", "premiumWeight", "requestsPerMinute", "tokensPerMinute", "stripePriceId"}}; a "free" entry replaces the built-in free plan.',
    unit: 'file path',
  },
  {
    name: 'TOKENWISE_FREE_PREMIUM_TOKENS',
    description:
      "Free plan's premium allowance: allowance tokens per period that premium-tier answers may take, after which premium questions go to the cheap tier; unset means a quarter of TOKENWISE_FREE_TOKENS.",
    unit: 'allowance tokens, or unlimited',
  },
  {
    name: 'STRIPE_SECRET_KEY',
    description:
      'Stripe secret key for paid plans; billing is on only when it, STRIPE_WEBHOOK_SECRET and both checkout URLs are set.',
    unit: 'secret string starting with sk_live_ or sk_test_, or rk_live_ or rk_test_ for a restricted key',
    secret: true,
  },
  {
    name: 'STRIPE_WEBHOOK_SECRET',
    description:
      'Signing secret of the Stripe webhook endpoint that points at POST /v1/billing/webhook.',
    unit: 'secret string starting with whsec_',
    secret: true,
  },
  {
    name: 'TOKENWISE_CHECKOUT_SUCCESS_URL',
    description:
      'Page Stripe Checkout opens after a payment; {CHECKOUT_SESSION_ID} in it is replaced by the session id.',
    unit: 'http(s) URL',
  },
  {
    name: 'TOKENWISE_CHECKOUT_CANCEL_URL',
    description: 'Page Stripe Checkout opens when the buyer goes back.',
    unit: 'http(s) URL',
  },
  {
    name: 'TOKENWISE_STRIPE_API_BASE',
    description:
      'Base URL of the Stripe API; only tests point it elsewhere, at a fake Stripe on 127.0.0.1.',
    unit: 'http(s) URL with no path',
    defaultValue: 'https://api.stripe.com',
  },
  {
    name: 'TOKENWISE_REGISTRATIONS_PER_HOUR',
    description:
      'New installs one client IP address may register per hour; more get 429 rate_limited.',
    unit: 'registrations per hour',
    defaultValue: '10',
  },
  {
    name: 'TOKENWISE_TRUST_PROXY',
    description:
      'When true, the client IP address is the last one in X-Forwarded-For, as added by one reverse proxy; set it only behind a proxy that adds the header.',
    unit: 'true or false',
    defaultValue: 'false',
  },
  {
    name: 'TOKENWISE_REDIS_KEY_PREFIX',
    description:
      'Prefix of every Redis key the backend writes, so several deployments can share one Redis.',
    unit: 'string',
    defaultValue: 'tokenwise:',
  },
  {
    name: 'TOKENWISE_MAX_OUTPUT_TOKENS',
    description:
      'Output cap per answer, reserved before the provider call; shrinks when the allowance is low. The default of both tiers; TOKENWISE_CHEAP_MAX_OUTPUT_TOKENS and TOKENWISE_PREMIUM_MAX_OUTPUT_TOKENS override it.',
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
    name: 'TOKENWISE_CHEAP_CONTEXT_TOKENS',
    description:
      'Context budget of the cheap tier: tokens sent besides the question (system prompt, running summary, recent turns, page passages).',
    unit: 'tokens, at least 512',
    defaultValue: '3000',
  },
  {
    name: 'TOKENWISE_PREMIUM_CONTEXT_TOKENS',
    description:
      'Context budget of the premium tier: tokens sent besides the question.',
    unit: 'tokens, at least 512',
    defaultValue: '8000',
  },
  {
    name: 'TOKENWISE_CHEAP_MAX_OUTPUT_TOKENS',
    description:
      "Output cap (max_tokens) of the cheap tier's answers; unset means TOKENWISE_MAX_OUTPUT_TOKENS.",
    unit: 'tokens, at least 64',
  },
  {
    name: 'TOKENWISE_PREMIUM_MAX_OUTPUT_TOKENS',
    description:
      "Output cap (max_tokens) of the premium tier's answers; unset means TOKENWISE_MAX_OUTPUT_TOKENS.",
    unit: 'tokens, at least 64',
  },
  {
    name: 'TOKENWISE_RECENT_TURNS',
    description:
      'Earlier turns always sent whole with a question. Older turns are folded into a running summary written by the cheap model and charged like any cheap answer, in blocks of at least 600 tokens; until a block is full they are sent whole too.',
    unit: 'turns, 0 to 50',
    defaultValue: '2',
  },
  {
    name: 'TOKENWISE_ADMIN_KEY',
    description:
      'Key for the admin endpoints under /v1/admin/ and the admin command, sent as Authorization: Bearer <key>; when unset, the admin endpoints answer 401.',
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
  {
    name: 'TOKENWISE_CHEAP_FALLBACK_MODEL',
    description:
      'Model tried when the cheap model fails before answering, after its retries; unset means no fallback.',
    unit: 'provider:model, provider one of openai, gemini, anthropic',
  },
  {
    name: 'TOKENWISE_PREMIUM_FALLBACK_MODEL',
    description:
      'Model tried when the premium model fails before answering, after its retries; unset means no fallback.',
    unit: 'provider:model, provider one of openai, gemini, anthropic',
  },
  {
    name: 'TOKENWISE_MAX_ATTEMPTS',
    description:
      'Provider calls per model for one answer, the first included; retries happen only before the answer starts.',
    unit: 'attempts, 1 to 10',
    defaultValue: '3',
  },
  {
    name: 'TOKENWISE_RETRY_BASE_DELAY_MS',
    description:
      'Back-off before the second attempt; it doubles per attempt, with full jitter.',
    unit: 'milliseconds',
    defaultValue: '500',
  },
  {
    name: 'TOKENWISE_RETRY_MAX_DELAY_MS',
    description:
      'Longest wait between attempts; a Retry-After longer than this moves on to the fallback model.',
    unit: 'milliseconds',
    defaultValue: '20000',
  },
  {
    name: 'TOKENWISE_CONNECT_TIMEOUT_MS',
    description:
      'Time a provider has to send its response headers; 0 turns the timeout off.',
    unit: 'milliseconds',
    defaultValue: '10000',
  },
  {
    name: 'TOKENWISE_FIRST_TOKEN_TIMEOUT_MS',
    description:
      'Time a provider has, from the start of the call, to send the first token; 0 turns the timeout off.',
    unit: 'milliseconds',
    defaultValue: '60000',
  },
  {
    name: 'TOKENWISE_IDLE_TIMEOUT_MS',
    description:
      'Longest silence allowed between events once an answer has started; 0 turns the timeout off.',
    unit: 'milliseconds',
    defaultValue: '30000',
  },
  {
    name: 'TOKENWISE_CACHE_TTL_SECONDS',
    description:
      'Lifetime of an entry in the server answer cache; 0 turns the server cache off.',
    unit: 'seconds',
    defaultValue: '604800',
  },
  {
    name: 'TOKENWISE_SHARED_CACHE',
    description:
      'When true, questions sent without history or page context are cached in one scope shared by all installs.',
    unit: 'true or false',
    defaultValue: 'false',
  },
  {
    name: 'TOKENWISE_REDIS_URL',
    description:
      'Redis server of the answer cache and the rate limits, which several backend processes then share; when unset, the cache is a table in the SQLite database and rate limits are counted in memory.',
    unit: 'redis:// or rediss:// URL',
  },
  {
    name: 'TOKENWISE_EXTENSION_IDS',
    description:
      'Extensions whose pages may call the user API cross-origin (CORS); other origins get no CORS headers. The background worker needs no entry, because its host permission bypasses CORS.',
    unit: 'comma-separated Chrome extension ids, Firefox moz-extension UUIDs or extension origins',
  },
  {
    name: 'TOKENWISE_DAILY_BUDGET_USD',
    description:
      'Global spend limit per UTC day over all installs; past it chats are rejected with budget_exceeded. Unset for none.',
    unit: 'US dollars, greater than 0',
  },
  {
    name: 'TOKENWISE_MONTHLY_BUDGET_USD',
    description:
      'Global spend limit per UTC calendar month over all installs; past it chats are rejected with budget_exceeded. Unset for none.',
    unit: 'US dollars, greater than 0',
  },
  {
    name: 'TOKENWISE_BUDGET_SOFT_PERCENT',
    description:
      'Share of a budget past which questions routed to the premium model go to the cheap model instead.',
    unit: 'percent, 1 to 100',
    defaultValue: '80',
  },
  {
    name: 'TOKENWISE_BUDGET_CHECK_SECONDS',
    description:
      'How long the spend computed for the budgets is reused before the ledger is read again; spend in that time can pass a limit.',
    unit: 'seconds, 0 to 3600',
    defaultValue: '5',
  },
  {
    name: 'TOKENWISE_ALERT_WEBHOOK_URL',
    description:
      'Slack-compatible incoming webhook that receives budget alerts at 50, 80 and 100 percent and spike alerts; unset, alerts are only logged.',
    unit: 'http:// or https:// URL',
    secret: true,
  },
  {
    name: 'TOKENWISE_ALERT_RETRY_BASE_DELAY_MS',
    description:
      'Wait before the second attempt to deliver an alert, doubled after each failure, for 5 attempts.',
    unit: 'milliseconds',
    defaultValue: '1000',
  },
  {
    name: 'TOKENWISE_SPIKE_FACTOR',
    description:
      "An install spending this many times its usual hourly rate (the past week's average) in the last hour is flagged as a spike.",
    unit: 'number greater than 0',
    defaultValue: '5',
  },
  {
    name: 'TOKENWISE_SPIKE_MINIMUM_USD',
    description: 'Smallest spend in an hour that counts as a spike.',
    unit: 'US dollars',
    defaultValue: '1',
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
