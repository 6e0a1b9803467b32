/**
 * Backend configuration, read from the environment and from a `.env` file
 * when one exists (real environment variables win), validated with zod.
 * An invalid value stops start-up with a ConfigError that names the
 * variable and states the expected value.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseDotenv } from 'dotenv';
import { z } from 'zod';
import {
  DEFAULT_PRICES,
  parseModelRef,
  type ModelPrice,
  type ModelRef,
} from '../lib/catalog';
import { MIN_CONTEXT_TOKENS, type ContextBudget } from '../lib/context-budget';
import type { Tier } from '../lib/protocol';
import { CONFIG_VARIABLES, findConfigVariable } from './config-variables';
import { parseExtensionOrigin } from './http/cors';

export const LOG_LEVELS = [
  'fatal',
  'error',
  'warn',
  'info',
  'debug',
  'trace',
  'silent',
] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Providers reached over the network, each with its own key and base URL. */
export const NETWORK_PROVIDERS = ['openai', 'gemini', 'anthropic'] as const;
export type NetworkProvider = (typeof NETWORK_PROVIDERS)[number];

export type DatabaseLocation =
  | { kind: 'sqlite'; /** Absolute file path, or ":memory:". */ path: string }
  | { kind: 'postgres'; url: string };

export interface ProviderSettings {
  /** Undefined when no key is configured: the tier then runs on the demo model. */
  apiKey: string | undefined;
  /** Base URL without a trailing slash. */
  baseUrl: string;
  /** Name of the variable that contains the key, for messages. */
  apiKeyVariable: string;
}

export interface Config {
  port: number;
  host: string;
  database: DatabaseLocation;
  /** Folder for files kept beside the database, such as the install secret. */
  dataDirectory: string;
  cheapModel: ModelRef;
  premiumModel: ModelRef;
  providers: Record<NetworkProvider, ProviderSettings>;
  /** Free plan's allowance per period, in allowance tokens. */
  freeTokens: number;
  /** Allowance tokens charged per premium-tier token on the free plan. */
  premiumWeight: number;
  /** Free plan's chat requests per minute per install. */
  requestsPerMinute: number;
  /** Free plan's provider tokens (input plus output cap) per minute per install. */
  tokensPerMinute: number;
  /** Absolute path of the JSON file that defines more plans, if any. */
  plansFile: string | undefined;
  /**
   * Free plan's premium allowance in allowance tokens; undefined for the
   * default share of the free allowance, 'unlimited' for none.
   */
  freePremiumTokens: number | 'unlimited' | undefined;
  /** Stripe settings; billing is on only when every one of them is set. */
  stripe: StripeSettings;
  /** New installs one client IP address may register per hour. */
  registrationsPerHour: number;
  /** Whether the client IP address is read from X-Forwarded-For. */
  trustProxy: boolean;
  /** Prefix of every Redis key the backend writes. */
  redisKeyPrefix: string;
  /** Output cap per answer, in tokens. */
  maxOutputTokens: number;
  /** Context budget and output cap of each tier, in tokens. */
  tierBudgets: Record<Tier, ContextBudget>;
  /** Earlier turns sent whole; older ones are folded into a summary. */
  recentTurns: number;
  /** Largest prompt accepted, in tokens. */
  maxInputTokens: number;
  adminKey: string | undefined;
  installSecret: string | undefined;
  /** Install token lifetime, in days. */
  tokenTtlDays: number;
  /** Prices per `provider:model`, the catalog's merged with the prices file. */
  prices: Record<string, ModelPrice>;
  logLevel: LogLevel;
  /** Same-tier model tried when the tier's own model fails before answering. */
  fallbackModels: Partial<Record<'cheap' | 'premium', ModelRef>>;
  /** Provider attempts per model, the first one included. */
  maxAttempts: number;
  /** Back-off before the second attempt, before jitter, in milliseconds. */
  retryBaseDelayMs: number;
  /** Maximum wait between attempts, in milliseconds. */
  retryMaxDelayMs: number;
  /** Provider call timeouts in milliseconds; 0 turns one off. */
  connectTimeoutMs: number;
  firstTokenTimeoutMs: number;
  idleTimeoutMs: number;
  /** Lifetime of a server answer cache entry, in seconds; 0 turns the cache off. */
  cacheTtlSeconds: number;
  /** Whether questions without history or page context share one cache scope. */
  sharedCache: boolean;
  /** Redis URL of the server answer cache; SQLite beside the ledger when unset. */
  redisUrl: string | undefined;
  /** Extension origins that get CORS headers on the user API. */
  extensionOrigins: string[];
  /** Global daily spend limit in US dollars; undefined for none. */
  dailyBudgetUsd: number | undefined;
  /** Global monthly spend limit in US dollars; undefined for none. */
  monthlyBudgetUsd: number | undefined;
  /** Percentage of a budget past which premium degrades to cheap. */
  budgetSoftPercent: number;
  /** How long a computed budget spend is reused, in seconds. */
  budgetCheckSeconds: number;
  /** Slack-compatible webhook that receives budget and spike alerts. */
  alertWebhookUrl: string | undefined;
  /** Back-off before the second webhook attempt, in milliseconds. */
  alertRetryBaseDelayMs: number;
  /** How many times its usual hourly spend makes an install's hour a spike. */
  spikeFactor: number;
  /** Smallest hourly spend that counts as a spike, in US dollars. */
  spikeMinimumUsd: number;
}

export interface StripeSettings {
  secretKey: string | undefined;
  webhookSecret: string | undefined;
  successUrl: string | undefined;
  cancelUrl: string | undefined;
  /** Where the Stripe API is reached; Stripe's own host unless a test says otherwise. */
  api: { protocol: 'http' | 'https'; host: string; port: number };
}

/** A configuration value that is missing or invalid; the message lists each one. */
export class ConfigError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConfigError';
  }
}

export interface LoadConfigOptions {
  /** Environment to read; defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** `.env` file to read when it exists; false skips it. Defaults to CWD/.env. */
  envFile?: string | false;
  /** Folder that relative paths are resolved against; defaults to process.cwd(). */
  cwd?: string;
  /** Values that win over the environment, e.g. from command-line options. */
  overrides?: Partial<Record<string, string>>;
}

/** Smallest output cap: the minimum answer the ledger reserves for. */
export const MIN_OUTPUT_TOKENS = 64;

const MIN_ADMIN_KEY_CHARS = 24;
const MIN_INSTALL_SECRET_CHARS = 32;

/**
 * Loads and validates the configuration. Throws ConfigError listing every
 * invalid variable with its expected format.
 */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const cwd = options.cwd ?? process.cwd();
  const values = collectValues(options, cwd);

  const result = createSchema(cwd).safeParse(values);
  if (!result.success) {
    throw new ConfigError(formatIssues(result.error.issues, values));
  }
  const parsed = result.data;
  const tierBudgets = readTierBudgets(parsed);

  const database = parsed.TOKENWISE_DATABASE_URL;
  const dataDirectory =
    database.kind === 'sqlite' && database.path !== ':memory:'
      ? path.dirname(database.path)
      : path.resolve(cwd, 'data');

  return {
    port: parsed.PORT,
    host: parsed.HOST,
    database,
    dataDirectory,
    cheapModel: parsed.TOKENWISE_CHEAP_MODEL,
    premiumModel: parsed.TOKENWISE_PREMIUM_MODEL,
    providers: {
      openai: {
        apiKey: parsed.OPENAI_API_KEY,
        baseUrl: parsed.OPENAI_BASE_URL,
        apiKeyVariable: 'OPENAI_API_KEY',
      },
      gemini: {
        apiKey: parsed.GEMINI_API_KEY,
        baseUrl: parsed.GEMINI_BASE_URL,
        apiKeyVariable: 'GEMINI_API_KEY',
      },
      anthropic: {
        apiKey: parsed.ANTHROPIC_API_KEY,
        baseUrl: parsed.ANTHROPIC_BASE_URL,
        apiKeyVariable: 'ANTHROPIC_API_KEY',
      },
    },
    freeTokens: parsed.TOKENWISE_FREE_TOKENS,
    premiumWeight: parsed.TOKENWISE_PREMIUM_WEIGHT,
    requestsPerMinute: parsed.TOKENWISE_REQUESTS_PER_MINUTE,
    tokensPerMinute: parsed.TOKENWISE_TOKENS_PER_MINUTE,
    plansFile:
      parsed.TOKENWISE_PLANS_FILE === undefined
        ? undefined
        : path.resolve(cwd, parsed.TOKENWISE_PLANS_FILE),
    freePremiumTokens: parsed.TOKENWISE_FREE_PREMIUM_TOKENS,
    stripe: {
      secretKey: parsed.STRIPE_SECRET_KEY,
      webhookSecret: parsed.STRIPE_WEBHOOK_SECRET,
      successUrl: parsed.TOKENWISE_CHECKOUT_SUCCESS_URL,
      cancelUrl: parsed.TOKENWISE_CHECKOUT_CANCEL_URL,
      api: parsed.TOKENWISE_STRIPE_API_BASE,
    },
    registrationsPerHour: parsed.TOKENWISE_REGISTRATIONS_PER_HOUR,
    trustProxy: parsed.TOKENWISE_TRUST_PROXY === 'true',
    redisKeyPrefix: parsed.TOKENWISE_REDIS_KEY_PREFIX,
    maxOutputTokens: parsed.TOKENWISE_MAX_OUTPUT_TOKENS,
    tierBudgets,
    recentTurns: parsed.TOKENWISE_RECENT_TURNS,
    maxInputTokens: parsed.TOKENWISE_MAX_INPUT_TOKENS,
    adminKey: parsed.TOKENWISE_ADMIN_KEY,
    installSecret: parsed.TOKENWISE_INSTALL_SECRET,
    tokenTtlDays: parsed.TOKENWISE_TOKEN_TTL_DAYS,
    prices: loadPrices(parsed.TOKENWISE_PRICES_FILE, cwd),
    logLevel: parsed.TOKENWISE_LOG_LEVEL,
    fallbackModels: {
      cheap: parsed.TOKENWISE_CHEAP_FALLBACK_MODEL,
      premium: parsed.TOKENWISE_PREMIUM_FALLBACK_MODEL,
    },
    maxAttempts: parsed.TOKENWISE_MAX_ATTEMPTS,
    retryBaseDelayMs: parsed.TOKENWISE_RETRY_BASE_DELAY_MS,
    retryMaxDelayMs: parsed.TOKENWISE_RETRY_MAX_DELAY_MS,
    connectTimeoutMs: parsed.TOKENWISE_CONNECT_TIMEOUT_MS,
    firstTokenTimeoutMs: parsed.TOKENWISE_FIRST_TOKEN_TIMEOUT_MS,
    idleTimeoutMs: parsed.TOKENWISE_IDLE_TIMEOUT_MS,
    cacheTtlSeconds: parsed.TOKENWISE_CACHE_TTL_SECONDS,
    sharedCache: parsed.TOKENWISE_SHARED_CACHE === 'true',
    redisUrl: parsed.TOKENWISE_REDIS_URL,
    extensionOrigins: parsed.TOKENWISE_EXTENSION_IDS ?? [],
    dailyBudgetUsd: parsed.TOKENWISE_DAILY_BUDGET_USD,
    monthlyBudgetUsd: parsed.TOKENWISE_MONTHLY_BUDGET_USD,
    budgetSoftPercent: parsed.TOKENWISE_BUDGET_SOFT_PERCENT,
    budgetCheckSeconds: parsed.TOKENWISE_BUDGET_CHECK_SECONDS,
    alertWebhookUrl: parsed.TOKENWISE_ALERT_WEBHOOK_URL,
    alertRetryBaseDelayMs: parsed.TOKENWISE_ALERT_RETRY_BASE_DELAY_MS,
    spikeFactor: parsed.TOKENWISE_SPIKE_FACTOR,
    spikeMinimumUsd: parsed.TOKENWISE_SPIKE_MINIMUM_USD,
  };
}

/**
 * Merges, lowest first: the table's defaults, the `.env` file, the
 * environment, the overrides. Empty strings count as unset.
 */
function collectValues(
  options: LoadConfigOptions,
  cwd: string,
): Record<string, string> {
  const env = options.env ?? process.env;
  const envFile =
    options.envFile === undefined ? path.join(cwd, '.env') : options.envFile;
  const fromFile = envFile !== false ? readEnvFile(envFile) : {};

  const values: Record<string, string> = {};
  for (const variable of CONFIG_VARIABLES) {
    const candidates = [
      options.overrides?.[variable.name],
      env[variable.name],
      fromFile[variable.name],
      variable.defaultValue,
    ];
    const value = candidates.find(
      (candidate) => candidate !== undefined && candidate !== '',
    );
    if (value !== undefined) {
      values[variable.name] = value;
    }
  }
  return values;
}

function readEnvFile(file: string): Record<string, string> {
  if (!existsSync(file)) {
    return {};
  }
  try {
    return parseDotenv(readFileSync(file));
  } catch (error) {
    throw new ConfigError(
      `Could not read the .env file ${file}: ${(error as Error).message}. Fix or remove the file.`,
      { cause: error },
    );
  }
}

function createSchema(cwd: string) {
  return z.object({
    PORT: wholeNumber(0, 65_535),
    HOST: z.string().trim().min(1, 'must not be empty'),
    TOKENWISE_DATABASE_URL: z.string().transform((value, context) => {
      try {
        return parseDatabaseUrl(value, cwd);
      } catch (error) {
        context.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    }),
    TOKENWISE_CHEAP_MODEL: modelReference(),
    TOKENWISE_PREMIUM_MODEL: modelReference(),
    OPENAI_API_KEY: z.string().optional(),
    OPENAI_BASE_URL: baseUrl(),
    GEMINI_API_KEY: z.string().optional(),
    GEMINI_BASE_URL: baseUrl(),
    ANTHROPIC_API_KEY: z.string().optional(),
    ANTHROPIC_BASE_URL: baseUrl(),
    TOKENWISE_FREE_TOKENS: wholeNumber(0, Number.MAX_SAFE_INTEGER),
    TOKENWISE_PREMIUM_WEIGHT: z
      .string()
      .trim()
      .regex(/^\d+(\.\d+)?$/, 'must be a number such as 5 or 2.5')
      .transform(Number)
      .pipe(z.number().positive('must be greater than 0')),
    TOKENWISE_REQUESTS_PER_MINUTE: wholeNumber(1, 1_000_000),
    TOKENWISE_TOKENS_PER_MINUTE: wholeNumber(1, Number.MAX_SAFE_INTEGER),
    TOKENWISE_PLANS_FILE: z.string().trim().min(1).optional(),
    TOKENWISE_FREE_PREMIUM_TOKENS: z
      .string()
      .trim()
      .regex(/^(\d+|unlimited)$/, 'must be a whole number or unlimited')
      .transform((value) => (value === 'unlimited' ? value : Number(value)))
      .optional(),
    STRIPE_SECRET_KEY: z
      .string()
      .trim()
      .regex(
        /^(sk|rk)_(live|test)_\S+$/,
        'must be a Stripe secret key (sk_live_, sk_test_) or restricted key (rk_live_, rk_test_), not a publishable key',
      )
      .optional(),
    STRIPE_WEBHOOK_SECRET: z
      .string()
      .trim()
      .regex(
        /^whsec_\S+$/,
        'must be the signing secret of a Stripe webhook endpoint',
      )
      .optional(),
    TOKENWISE_CHECKOUT_SUCCESS_URL: baseUrl().optional(),
    TOKENWISE_CHECKOUT_CANCEL_URL: baseUrl().optional(),
    TOKENWISE_STRIPE_API_BASE: stripeApiBase(),
    TOKENWISE_REGISTRATIONS_PER_HOUR: wholeNumber(1, 1_000_000),
    TOKENWISE_TRUST_PROXY: z.enum(['true', 'false'], {
      error: 'must be true or false',
    }),
    TOKENWISE_REDIS_KEY_PREFIX: z.string().min(1, 'must not be empty'),
    TOKENWISE_MAX_OUTPUT_TOKENS: wholeNumber(MIN_OUTPUT_TOKENS, 1_000_000),
    TOKENWISE_MAX_INPUT_TOKENS: wholeNumber(1, 10_000_000),
    TOKENWISE_CHEAP_CONTEXT_TOKENS: wholeNumber(MIN_CONTEXT_TOKENS, 10_000_000),
    TOKENWISE_PREMIUM_CONTEXT_TOKENS: wholeNumber(
      MIN_CONTEXT_TOKENS,
      10_000_000,
    ),
    TOKENWISE_CHEAP_MAX_OUTPUT_TOKENS: wholeNumber(
      MIN_OUTPUT_TOKENS,
      1_000_000,
    ).optional(),
    TOKENWISE_PREMIUM_MAX_OUTPUT_TOKENS: wholeNumber(
      MIN_OUTPUT_TOKENS,
      1_000_000,
    ).optional(),
    TOKENWISE_RECENT_TURNS: wholeNumber(0, 50),
    TOKENWISE_ADMIN_KEY: z
      .string()
      .min(
        MIN_ADMIN_KEY_CHARS,
        `must be at least ${MIN_ADMIN_KEY_CHARS} characters; generate one with: openssl rand -hex 24`,
      )
      .optional(),
    TOKENWISE_INSTALL_SECRET: z
      .string()
      .min(
        MIN_INSTALL_SECRET_CHARS,
        `must be at least ${MIN_INSTALL_SECRET_CHARS} characters; generate one with: openssl rand -hex 32`,
      )
      .optional(),
    TOKENWISE_TOKEN_TTL_DAYS: wholeNumber(1, 3_650),
    TOKENWISE_PRICES_FILE: z.string().optional(),
    TOKENWISE_LOG_LEVEL: z.enum(LOG_LEVELS, {
      error: `must be one of ${LOG_LEVELS.join(', ')}`,
    }),
    TOKENWISE_CHEAP_FALLBACK_MODEL: networkModelReference().optional(),
    TOKENWISE_PREMIUM_FALLBACK_MODEL: networkModelReference().optional(),
    TOKENWISE_MAX_ATTEMPTS: wholeNumber(1, 10),
    TOKENWISE_RETRY_BASE_DELAY_MS: wholeNumber(0, 600_000),
    TOKENWISE_RETRY_MAX_DELAY_MS: wholeNumber(0, 3_600_000),
    TOKENWISE_CONNECT_TIMEOUT_MS: wholeNumber(0, 3_600_000),
    TOKENWISE_FIRST_TOKEN_TIMEOUT_MS: wholeNumber(0, 3_600_000),
    TOKENWISE_IDLE_TIMEOUT_MS: wholeNumber(0, 3_600_000),
    TOKENWISE_CACHE_TTL_SECONDS: wholeNumber(0, 10 * 365 * 86_400),
    TOKENWISE_SHARED_CACHE: z.enum(['true', 'false'], {
      error: 'must be true or false',
    }),
    TOKENWISE_REDIS_URL: z
      .string()
      .trim()
      .regex(/^rediss?:\/\//, 'must start with redis:// or rediss://')
      .optional(),
    TOKENWISE_EXTENSION_IDS: extensionOrigins().optional(),
    TOKENWISE_DAILY_BUDGET_USD: positiveNumber().optional(),
    TOKENWISE_MONTHLY_BUDGET_USD: positiveNumber().optional(),
    TOKENWISE_BUDGET_SOFT_PERCENT: wholeNumber(1, 100),
    TOKENWISE_BUDGET_CHECK_SECONDS: wholeNumber(0, 3_600),
    TOKENWISE_ALERT_WEBHOOK_URL: z
      .string()
      .trim()
      .regex(/^https?:\/\//, 'must be an http:// or https:// URL')
      .optional(),
    TOKENWISE_ALERT_RETRY_BASE_DELAY_MS: wholeNumber(0, 600_000),
    TOKENWISE_SPIKE_FACTOR: positiveNumber(),
    TOKENWISE_SPIKE_MINIMUM_USD: z
      .string()
      .trim()
      .regex(/^\d+(\.\d+)?$/, 'must be a number such as 1 or 0.5')
      .transform(Number),
  });
}

/**
 * Builds each tier's budget: its context tokens, and its output cap or
 * else TOKENWISE_MAX_OUTPUT_TOKENS.
 */
function readTierBudgets(parsed: {
  TOKENWISE_MAX_OUTPUT_TOKENS: number;
  TOKENWISE_CHEAP_CONTEXT_TOKENS: number;
  TOKENWISE_PREMIUM_CONTEXT_TOKENS: number;
  TOKENWISE_CHEAP_MAX_OUTPUT_TOKENS?: number;
  TOKENWISE_PREMIUM_MAX_OUTPUT_TOKENS?: number;
}): Record<Tier, ContextBudget> {
  return {
    cheap: {
      contextTokens: parsed.TOKENWISE_CHEAP_CONTEXT_TOKENS,
      maxOutputTokens:
        parsed.TOKENWISE_CHEAP_MAX_OUTPUT_TOKENS ??
        parsed.TOKENWISE_MAX_OUTPUT_TOKENS,
    },
    premium: {
      contextTokens: parsed.TOKENWISE_PREMIUM_CONTEXT_TOKENS,
      maxOutputTokens:
        parsed.TOKENWISE_PREMIUM_MAX_OUTPUT_TOKENS ??
        parsed.TOKENWISE_MAX_OUTPUT_TOKENS,
    },
  };
}

/** A decimal number greater than 0, such as 5 or 2.5. */
function positiveNumber() {
  return z
    .string()
    .trim()
    .regex(/^\d+(\.\d+)?$/, 'must be a number such as 5 or 2.5')
    .transform(Number)
    .pipe(z.number().positive('must be greater than 0'));
}

/** A comma-separated list of extension ids or origins, as origins. */
function extensionOrigins() {
  return z.string().transform((value, context): string[] => {
    const origins: string[] = [];
    for (const entry of value.split(',')) {
      if (entry.trim() === '') {
        continue;
      }
      try {
        origins.push(parseExtensionOrigin(entry));
      } catch (error) {
        context.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    }
    return origins;
  });
}

/** The Stripe API's base URL, split into what the Stripe SDK takes. */
function stripeApiBase() {
  return baseUrl().transform((value, context): StripeSettings['api'] => {
    const url = new URL(value);
    if (url.pathname !== '/' && url.pathname !== '') {
      context.addIssue({ code: 'custom', message: 'must have no path' });
      return z.NEVER;
    }
    const protocol = url.protocol === 'http:' ? 'http' : 'https';
    return {
      protocol,
      host: url.hostname,
      port: Number(url.port || (protocol === 'http' ? 80 : 443)),
    };
  });
}

function wholeNumber(min: number, max: number) {
  return z
    .string()
    .trim()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(
      z
        .number()
        .min(min, `must be at least ${min}`)
        .max(max, `must be at most ${max}`),
    );
}

function modelReference() {
  return z.string().transform((value, context): ModelRef => {
    try {
      return parseModelRef(value.trim());
    } catch (error) {
      context.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  });
}

/** A model reference that must name a network provider, never the demo model. */
function networkModelReference() {
  return modelReference().refine((ref) => ref.provider !== 'demo', {
    message: 'must name openai, gemini or anthropic, never the demo model',
  });
}

function baseUrl() {
  return z
    .string()
    .trim()
    .transform((value, context) => {
      if (!URL.canParse(value)) {
        context.addIssue({
          code: 'custom',
          message: 'must be an absolute URL',
        });
        return z.NEVER;
      }
      if (!['http:', 'https:'].includes(new URL(value).protocol)) {
        context.addIssue({
          code: 'custom',
          message: 'must start with http:// or https://',
        });
        return z.NEVER;
      }
      return value.replace(/\/+$/, '');
    });
}

/**
 * Parses TOKENWISE_DATABASE_URL: a plain path, `sqlite:PATH`,
 * `sqlite:///ABSOLUTE`, `file:PATH`, `file:///ABSOLUTE`, `:memory:`, or a
 * `postgres://` URL. Relative paths resolve against cwd.
 */
export function parseDatabaseUrl(value: string, cwd: string): DatabaseLocation {
  const trimmed = value.trim();
  if (/^postgres(ql)?:\/\//.test(trimmed)) {
    return { kind: 'postgres', url: trimmed };
  }

  let filePath = trimmed;
  if (trimmed.startsWith('file://')) {
    filePath = fileURLToPath(trimmed);
  } else if (trimmed.startsWith('file:')) {
    filePath = trimmed.slice('file:'.length);
  } else if (trimmed.startsWith('sqlite://')) {
    filePath = trimmed.slice('sqlite://'.length);
  } else if (trimmed.startsWith('sqlite:')) {
    filePath = trimmed.slice('sqlite:'.length);
  } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)) {
    throw new Error(
      `unsupported URL scheme in "${trimmed}"; write a file path or a sqlite: URL`,
    );
  }
  if (filePath === '') {
    throw new Error('names no file; write a path such as data/tokenwise.db');
  }
  if (filePath === ':memory:') {
    return { kind: 'sqlite', path: ':memory:' };
  }
  return { kind: 'sqlite', path: path.resolve(cwd, filePath) };
}

const priceSchema = z.object({
  input: z.number().nonnegative(),
  cachedInput: z.number().nonnegative(),
  output: z.number().nonnegative(),
});
const pricesFileSchema = z.record(z.string(), priceSchema);

/** Reads the prices file, if any, over the catalog's defaults. */
function loadPrices(
  file: string | undefined,
  cwd: string,
): Record<string, ModelPrice> {
  if (file === undefined) {
    return { ...DEFAULT_PRICES };
  }
  const location = path.resolve(cwd, file);
  const fix =
    'Write a JSON object such as {"openai:gpt-5.5": {"input": 5, "cachedInput": 0.5, "output": 30}}, in US dollars per million tokens, or unset the variable.';

  let content: unknown;
  try {
    content = JSON.parse(readFileSync(location, 'utf8'));
  } catch (error) {
    throw new ConfigError(
      `TOKENWISE_PRICES_FILE: could not read ${location} as JSON: ${(error as Error).message}. ${fix}`,
      { cause: error },
    );
  }

  const result = pricesFileSchema.safeParse(content);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue?.path.join('.') || 'the top level';
    throw new ConfigError(
      `TOKENWISE_PRICES_FILE: ${location} is invalid at ${where}: ${issue?.message}. ${fix}`,
    );
  }
  for (const key of Object.keys(result.data)) {
    try {
      parseModelRef(key);
    } catch (error) {
      throw new ConfigError(
        `TOKENWISE_PRICES_FILE: ${location} has an invalid key: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }
  return { ...DEFAULT_PRICES, ...result.data };
}

function formatIssues(
  issues: readonly z.core.$ZodIssue[],
  values: Record<string, string>,
): string {
  const lines = issues.map((issue) => {
    const name = String(issue.path[0] ?? '');
    const variable = findConfigVariable(name);
    const label = variable.option ? `${name} (${variable.option})` : name;
    const shownValue =
      variable.secret || values[name] === undefined
        ? ''
        : ` = "${values[name]}"`;
    const expected = variable.defaultValue
      ? `Expected ${variable.unit}; the default is ${variable.defaultValue}.`
      : `Expected ${variable.unit}.`;
    const message = issue.message.replace(/\.$/, '');
    return `  ${label}${shownValue}: ${message}. ${expected}`;
  });
  return `Invalid configuration:\n${lines.join('\n')}`;
}
