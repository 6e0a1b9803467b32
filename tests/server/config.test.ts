import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_PRICES } from '../../lib/catalog';
import { ConfigError, loadConfig, parseDatabaseUrl } from '../../server/config';
import { CONFIG_VARIABLES } from '../../server/config-variables';
import { createTempDirectory } from './helpers';

let temp: ReturnType<typeof createTempDirectory>;

beforeEach(() => {
  temp = createTempDirectory();
});
afterEach(() => temp.remove());

function load(env: Record<string, string>, envFile: string | false = false) {
  return loadConfig({ env, envFile, cwd: temp.directory });
}

function loadError(env: Record<string, string>): string {
  try {
    load(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('loadConfig accepted an invalid configuration.');
}

describe('loadConfig', () => {
  it('applies every default', () => {
    const config = load({});

    expect(config.port).toBe(8787);
    expect(config.host).toBe('127.0.0.1');
    expect(config.database).toEqual({
      kind: 'sqlite',
      path: path.join(temp.directory, 'data', 'tokenwise.db'),
    });
    expect(config.dataDirectory).toBe(path.join(temp.directory, 'data'));
    expect(config.cheapModel).toEqual({
      provider: 'gemini',
      model: 'gemini-3-flash',
    });
    expect(config.premiumModel).toEqual({
      provider: 'openai',
      model: 'gpt-5.5',
    });
    expect(config.providers.openai).toEqual({
      apiKey: undefined,
      baseUrl: 'https://api.openai.com/v1',
      apiKeyVariable: 'OPENAI_API_KEY',
    });
    expect(config.providers.gemini.baseUrl).toBe(
      'https://generativelanguage.googleapis.com/v1beta/openai',
    );
    expect(config.providers.anthropic.baseUrl).toBe(
      'https://api.anthropic.com/v1',
    );
    expect(config.freeTokens).toBe(200_000);
    expect(config.premiumWeight).toBe(5);
    expect(config.maxOutputTokens).toBe(1_024);
    expect(config.maxInputTokens).toBe(100_000);
    expect(config.tokenTtlDays).toBe(30);
    expect(config.logLevel).toBe('info');
    expect(config.adminKey).toBeUndefined();
    expect(config.installSecret).toBeUndefined();
    expect(config.prices).toEqual(DEFAULT_PRICES);
  });

  it('reads values from the environment', () => {
    const config = load({
      PORT: '9000',
      HOST: '0.0.0.0',
      TOKENWISE_CHEAP_MODEL: 'openai:gpt-5-mini',
      TOKENWISE_PREMIUM_MODEL: 'anthropic:claude-sonnet-4-5',
      OPENAI_API_KEY: 'sk-test',
      OPENAI_BASE_URL: 'http://127.0.0.1:9999/v1/',
      TOKENWISE_FREE_TOKENS: '5000',
      TOKENWISE_PREMIUM_WEIGHT: '2.5',
      TOKENWISE_MAX_OUTPUT_TOKENS: '64',
      TOKENWISE_TOKEN_TTL_DAYS: '7',
      TOKENWISE_LOG_LEVEL: 'silent',
    });

    expect(config.port).toBe(9000);
    expect(config.host).toBe('0.0.0.0');
    expect(config.cheapModel).toEqual({
      provider: 'openai',
      model: 'gpt-5-mini',
    });
    expect(config.premiumModel.provider).toBe('anthropic');
    expect(config.providers.openai.apiKey).toBe('sk-test');
    expect(config.providers.openai.baseUrl).toBe('http://127.0.0.1:9999/v1');
    expect(config.freeTokens).toBe(5_000);
    expect(config.premiumWeight).toBe(2.5);
    expect(config.maxOutputTokens).toBe(64);
    expect(config.tokenTtlDays).toBe(7);
    expect(config.logLevel).toBe('silent');
  });

  it('reads .env without overriding the environment', () => {
    const envFile = path.join(temp.directory, '.env');
    writeFileSync(
      envFile,
      'PORT=7000\nHOST=10.0.0.1\nTOKENWISE_FREE_TOKENS=\n',
    );

    const config = load({ HOST: '127.0.0.2' }, envFile);

    expect(config.port).toBe(7000);
    expect(config.host).toBe('127.0.0.2');
    expect(config.freeTokens).toBe(200_000);
  });

  it('finds .env in the working folder', () => {
    writeFileSync(path.join(temp.directory, '.env'), 'PORT=7001\n');

    const config = loadConfig({ env: {}, cwd: temp.directory });

    expect(config.port).toBe(7001);
  });

  it('lets overrides win', () => {
    const config = loadConfig({
      env: { PORT: '1234' },
      envFile: false,
      cwd: temp.directory,
      overrides: { PORT: '4321', HOST: undefined },
    });

    expect(config.port).toBe(4321);
    expect(config.host).toBe('127.0.0.1');
  });

  it.each([
    ['PORT', 'abc', 'PORT (--port) = "abc": must be a whole number'],
    ['PORT', '70000', 'must be at most 65535'],
    [
      'TOKENWISE_FREE_TOKENS',
      '-1',
      'TOKENWISE_FREE_TOKENS = "-1": must be a whole number',
    ],
    ['TOKENWISE_PREMIUM_WEIGHT', '0', 'must be greater than 0'],
    ['TOKENWISE_MAX_OUTPUT_TOKENS', '10', 'must be at least 64'],
    ['TOKENWISE_CHEAP_MODEL', 'gpt-5', 'write it as provider:model'],
    ['TOKENWISE_PREMIUM_MODEL', 'azure:gpt-5', 'Unknown provider "azure"'],
    ['OPENAI_BASE_URL', 'not a url', 'must be an absolute URL'],
    [
      'GEMINI_BASE_URL',
      'ftp://127.0.0.1/',
      'must start with http:// or https://',
    ],
    ['TOKENWISE_LOG_LEVEL', 'loud', 'must be one of fatal, error, warn'],
    ['TOKENWISE_TOKEN_TTL_DAYS', '0', 'must be at least 1'],
    [
      'TOKENWISE_DATABASE_URL',
      'mysql://127.0.0.1/db',
      'unsupported URL scheme',
    ],
  ])('rejects %s=%s', (name, value, expected) => {
    const message = loadError({ [name]: value });

    expect(message).toContain(name);
    expect(message).toContain(expected);
    expect(message).toContain('Expected');
  });

  it('never prints a secret value', () => {
    const message = loadError({ TOKENWISE_INSTALL_SECRET: 'short-secret' });

    expect(message).toContain(
      'TOKENWISE_INSTALL_SECRET: must be at least 32 characters',
    );
    expect(message).not.toContain('short-secret');
  });

  it.each([
    ['STRIPE_SECRET_KEY', 'pk_live_abc', 'not a publishable key'],
    ['STRIPE_SECRET_KEY', 'sk_abc', 'sk_live_'],
    ['STRIPE_SECRET_KEY', 'sk_live_', 'sk_live_'],
    ['STRIPE_WEBHOOK_SECRET', 'notwhsec', 'signing secret'],
    ['STRIPE_WEBHOOK_SECRET', 'whsec_', 'signing secret'],
  ])('rejects Stripe secret %s=%s', (name, value, expected) => {
    const message = loadError({ [name]: value });

    expect(message).toContain(`${name}: must be`);
    expect(message).toContain(expected);
    expect(message).not.toContain(`"${value}"`);
  });

  it.each(['sk_live_abc', 'sk_test_abc', 'rk_live_abc', 'rk_test_abc'])(
    'accepts Stripe secret key %s',
    (secretKey) => {
      const config = load({
        STRIPE_SECRET_KEY: secretKey,
        STRIPE_WEBHOOK_SECRET: 'whsec_abc',
      });

      expect(config.stripe.secretKey).toBe(secretKey);
      expect(config.stripe.webhookSecret).toBe('whsec_abc');
    },
  );

  it('lists every invalid variable', () => {
    const message = loadError({ PORT: 'x', TOKENWISE_PREMIUM_WEIGHT: 'y' });

    expect(message).toContain('PORT');
    expect(message).toContain('TOKENWISE_PREMIUM_WEIGHT');
  });

  it('merges a prices file over the catalog', () => {
    const file = path.join(temp.directory, 'prices.json');
    writeFileSync(
      file,
      JSON.stringify({
        'openai:gpt-5.5': { input: 1, cachedInput: 0.1, output: 2 },
        'openai:my-model': { input: 3, cachedInput: 0, output: 4 },
      }),
    );

    const config = load({ TOKENWISE_PRICES_FILE: 'prices.json' });

    expect(config.prices['openai:gpt-5.5']).toEqual({
      input: 1,
      cachedInput: 0.1,
      output: 2,
    });
    expect(config.prices['openai:my-model']).toEqual({
      input: 3,
      cachedInput: 0,
      output: 4,
    });
    expect(config.prices['gemini:gemini-3-flash']).toEqual(
      DEFAULT_PRICES['gemini:gemini-3-flash'],
    );
  });

  it.each([
    ['not JSON', '{', 'could not read'],
    [
      'a negative price',
      '{"openai:x": {"input": -1, "cachedInput": 0, "output": 0}}',
      'openai:x.input',
    ],
    ['a missing price', '{"openai:x": {"input": 1}}', 'openai:x.cachedInput'],
    [
      'a bad key',
      '{"x": {"input": 1, "cachedInput": 0, "output": 0}}',
      'invalid key',
    ],
  ])('rejects a prices file with %s', (_name, content, expected) => {
    writeFileSync(path.join(temp.directory, 'prices.json'), content);

    const message = loadError({ TOKENWISE_PRICES_FILE: 'prices.json' });

    expect(message).toContain('TOKENWISE_PRICES_FILE');
    expect(message).toContain(expected);
  });

  it('rejects a missing prices file', () => {
    expect(loadError({ TOKENWISE_PRICES_FILE: 'missing.json' })).toContain(
      'could not read',
    );
  });
});

describe('parseDatabaseUrl', () => {
  it.each([
    ['data/tokenwise.db', '/srv/app/data/tokenwise.db'],
    ['/var/lib/tw.db', '/var/lib/tw.db'],
    ['sqlite:data/x.db', '/srv/app/data/x.db'],
    ['sqlite://data/x.db', '/srv/app/data/x.db'],
    ['sqlite:///tmp/x.db', '/tmp/x.db'],
    ['file:data/x.db', '/srv/app/data/x.db'],
    ['file:///tmp/x.db', '/tmp/x.db'],
    [':memory:', ':memory:'],
  ])('reads %s as a SQLite path', (value, expected) => {
    expect(parseDatabaseUrl(value, '/srv/app')).toEqual({
      kind: 'sqlite',
      path: expected,
    });
  });

  it('recognises PostgreSQL', () => {
    expect(parseDatabaseUrl('postgres://127.0.0.1/test', '/srv/app')).toEqual({
      kind: 'postgres',
      url: 'postgres://127.0.0.1/test',
    });
  });
});

describe('CONFIG_VARIABLES', () => {
  it('documents every variable the schema reads', () => {
    const names = CONFIG_VARIABLES.map((variable) => variable.name);

    expect(names).toEqual(
      expect.arrayContaining([
        'PORT',
        'HOST',
        'TOKENWISE_DATABASE_URL',
        'TOKENWISE_CHEAP_MODEL',
        'TOKENWISE_PREMIUM_MODEL',
        'OPENAI_API_KEY',
        'OPENAI_BASE_URL',
        'GEMINI_API_KEY',
        'GEMINI_BASE_URL',
        'ANTHROPIC_API_KEY',
        'ANTHROPIC_BASE_URL',
        'TOKENWISE_FREE_TOKENS',
        'TOKENWISE_PREMIUM_WEIGHT',
        'TOKENWISE_MAX_OUTPUT_TOKENS',
        'TOKENWISE_MAX_INPUT_TOKENS',
        'TOKENWISE_ADMIN_KEY',
        'TOKENWISE_INSTALL_SECRET',
        'TOKENWISE_TOKEN_TTL_DAYS',
        'TOKENWISE_PRICES_FILE',
        'TOKENWISE_LOG_LEVEL',
      ]),
    );
    expect(new Set(names).size).toBe(names.length);
  });
});
