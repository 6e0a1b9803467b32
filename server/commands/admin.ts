/**
 * `tokenwise admin grant|plan|show|plans`: grants tokens, changes an
 * install's plan, or shows an install's usage and ledger, either through a
 * running backend's admin API (`--url`, with TOKENWISE_ADMIN_KEY) or
 * directly on its database (`--database`).
 */
import { parseArgs } from 'node:util';
import {
  adminInstallResponseSchema,
  adminPlansResponseSchema,
  errorBodySchema,
  MAX_GRANT_TOKENS,
  type AdminInstallResponse,
} from '../../lib/protocol';
import { ConfigError, loadConfig } from '../config';
import { HttpError } from '../http/errors';
import { createPlans } from '../plans';
import {
  buildAdminInstallView,
  requireGrantFits,
  requirePlan,
} from '../routes/admin';
import { openStore } from '../store/index';
import {
  ADMIN_REPORT_ACTIONS,
  ADMIN_REPORT_HELP,
  runAdminReportCommand,
  type AdminReportAction,
} from './admin-reports';
import type { Plan, Store } from '../store/types';

export const ADMIN_HELP = `Usage: tokenwise admin <action> [arguments] (--url URL | --database DATABASE) [options]

Actions:
  grant <installId> <tokens>   Add allowance tokens to the install's current
                               period, at most ${MAX_GRANT_TOKENS} per grant; they
                               do not roll over.
  plan <installId> <plan>      Move the install to a configured plan; the
                               current period's allowance becomes the plan's.
  show <installId>             Show the install's usage and latest ledger
                               entries.
  plans                        List the configured plans.

Where:
  --url <url>            A running backend, such as http://127.0.0.1:8787; the
                         admin key is read from TOKENWISE_ADMIN_KEY.
  --database <database>  The backend's database, opened directly: a SQLite
                         file or a postgres:// URL. Plans come from the same
                         variables as for serve (TOKENWISE_PLANS_FILE, ...).

Options:
  --entries <n>          Ledger entries that show prints. Default: 20.
  --json                 Print the response as JSON.
  -h, --help             Show this help.

Exit codes: 0 success, 1 failure, 2 usage error.
`;

const EXIT_SUCCESS = 0;
const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;
const DEFAULT_SHOWN_ENTRIES = 20;

export interface AdminCommandOptions {
  args: string[];
  env: NodeJS.ProcessEnv;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

type AdminAction =
  | { kind: 'grant'; installId: string; tokens: number }
  | { kind: 'plan'; installId: string; plan: string }
  | { kind: 'show'; installId: string; entries: number }
  | { kind: 'plans' };

/** Result of an admin action: an install view or the plan list. */
type AdminResult =
  | { kind: 'install'; view: AdminInstallResponse }
  | { kind: 'plans'; plans: Plan[] };

function isAdminReportAction(
  value: string | undefined,
): value is AdminReportAction {
  return (ADMIN_REPORT_ACTIONS as readonly string[]).includes(value ?? '');
}

/** A failure the command reports as one line and exit code 1. */
class AdminCommandError extends Error {}

/** Runs the admin command and returns the exit code. */
export async function runAdminCommand(
  options: AdminCommandOptions,
): Promise<number> {
  const { stdout, stderr } = options;
  const first = options.args[0];
  if (isAdminReportAction(first)) {
    return runAdminReportCommand(options);
  }
  let values: {
    url?: string;
    database?: string;
    entries?: string;
    json?: boolean;
    help?: boolean;
  };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: options.args,
      options: {
        url: { type: 'string' },
        database: { type: 'string' },
        entries: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: true,
    }));
  } catch (error) {
    stderr.write(
      `tokenwise admin: ${(error as Error).message}. Run tokenwise admin --help for the options.\n`,
    );
    return EXIT_USAGE;
  }
  if (values.help) {
    stdout.write(`${ADMIN_HELP}\n${ADMIN_REPORT_HELP}`);
    return EXIT_SUCCESS;
  }

  let action: AdminAction;
  try {
    action = parseAction(positionals, values.entries);
    if ((values.url === undefined) === (values.database === undefined)) {
      throw new Error(
        'pass exactly one of --url (a running backend) and --database (its database)',
      );
    }
  } catch (error) {
    stderr.write(
      `tokenwise admin: ${(error as Error).message}. Run tokenwise admin --help for the usage.\n`,
    );
    return EXIT_USAGE;
  }

  let result: AdminResult;
  try {
    result =
      values.url !== undefined
        ? await runOverHttp(values.url, action, options.env)
        : await runOnDatabase(values.database as string, action, options.env);
  } catch (error) {
    if (
      error instanceof AdminCommandError ||
      error instanceof ConfigError ||
      error instanceof HttpError
    ) {
      stderr.write(`tokenwise admin: ${error.message}\n`);
      return EXIT_FAILURE;
    }
    throw error;
  }

  const shownEntries = action.kind === 'show' ? action.entries : 0;
  stdout.write(
    values.json
      ? `${JSON.stringify(result.kind === 'install' ? result.view : { plans: result.plans }, null, 2)}\n`
      : formatResult(result, shownEntries),
  );
  return EXIT_SUCCESS;
}

function parseAction(
  positionals: string[],
  entriesOption: string | undefined,
): AdminAction {
  const [kind, ...rest] = positionals;
  const expect = (count: number, usage: string) => {
    if (rest.length !== count) {
      throw new Error(`${kind} takes ${usage}`);
    }
  };

  switch (kind) {
    case 'grant': {
      expect(2, '<installId> <tokens>');
      const tokens = Number(rest[1]);
      if (
        !/^\d+$/.test(rest[1] ?? '') ||
        !Number.isSafeInteger(tokens) ||
        tokens <= 0
      ) {
        throw new Error(
          `tokens must be a positive whole number, not "${rest[1]}"`,
        );
      }
      if (tokens > MAX_GRANT_TOKENS) {
        throw new Error(
          `tokens must be at most ${MAX_GRANT_TOKENS} per grant, not ${tokens}`,
        );
      }
      return { kind, installId: rest[0] as string, tokens };
    }
    case 'plan':
      expect(2, '<installId> <plan>');
      return { kind, installId: rest[0] as string, plan: rest[1] as string };
    case 'show': {
      expect(1, '<installId>');
      const entries =
        entriesOption === undefined
          ? DEFAULT_SHOWN_ENTRIES
          : Number(entriesOption);
      if (!Number.isInteger(entries) || entries < 0) {
        throw new Error(
          `--entries must be a whole number, not "${entriesOption}"`,
        );
      }
      return { kind, installId: rest[0] as string, entries };
    }
    case 'plans':
      expect(0, 'no arguments');
      return { kind };
    case undefined:
      throw new Error('an action is missing: grant, plan, show or plans');
    default:
      throw new Error(
        `unknown action "${kind}"; use grant, plan, show or plans`,
      );
  }
}

async function runOverHttp(
  url: string,
  action: AdminAction,
  env: NodeJS.ProcessEnv,
): Promise<AdminResult> {
  const adminKey = env.TOKENWISE_ADMIN_KEY;
  if (!adminKey) {
    throw new AdminCommandError(
      "TOKENWISE_ADMIN_KEY is not set; set it to the backend's admin key, or use --database.",
    );
  }
  const base = url.replace(/\/+$/, '');
  const request = (path: string, body?: unknown) =>
    sendAdminRequest(`${base}${path}`, adminKey, body);

  switch (action.kind) {
    case 'grant':
      return {
        kind: 'install',
        view: adminInstallResponseSchema.parse(
          await request(
            `/v1/admin/installs/${encodeURIComponent(action.installId)}/grant`,
            {
              tokens: action.tokens,
            },
          ),
        ),
      };
    case 'plan':
      return {
        kind: 'install',
        view: adminInstallResponseSchema.parse(
          await request(
            `/v1/admin/installs/${encodeURIComponent(action.installId)}/plan`,
            {
              plan: action.plan,
            },
          ),
        ),
      };
    case 'show':
      return {
        kind: 'install',
        view: adminInstallResponseSchema.parse(
          await request(
            `/v1/admin/installs/${encodeURIComponent(action.installId)}?entries=${action.entries}`,
          ),
        ),
      };
    case 'plans':
      return {
        kind: 'plans',
        plans: adminPlansResponseSchema.parse(await request('/v1/admin/plans'))
          .plans,
      };
  }
}

/** Sends one admin request (POST when there is a body) and returns its JSON. */
async function sendAdminRequest(
  url: string,
  adminKey: string,
  body?: unknown,
): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: body === undefined ? 'GET' : 'POST',
      headers: {
        authorization: `Bearer ${adminKey}`,
        'content-type': 'application/json',
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    throw new AdminCommandError(
      `could not reach ${url}: ${(error as Error).message}. Check --url and that the backend is running.`,
      { cause: error },
    );
  }
  const content: unknown = await response.json().catch(() => undefined);
  if (!response.ok) {
    const parsed = errorBodySchema.safeParse(content);
    throw new AdminCommandError(
      parsed.success
        ? `the backend answered ${response.status}: ${parsed.data.error.message}`
        : `the backend answered ${response.status} without an error body.`,
    );
  }
  return content;
}

async function runOnDatabase(
  database: string,
  action: AdminAction,
  env: NodeJS.ProcessEnv,
): Promise<AdminResult> {
  const config = loadConfig({
    env,
    overrides: { TOKENWISE_DATABASE_URL: database },
  });
  const plans = createPlans(config);
  if (action.kind === 'plans') {
    return { kind: 'plans', plans: Object.values(plans) };
  }

  const store: Store = await openStore({ database: config.database, plans });
  try {
    const now = new Date();
    if (action.kind === 'grant') {
      await requireInstall(store, action.installId);
      await requireGrantFits({
        store,
        installId: action.installId,
        tokens: action.tokens,
        now,
      });
      await store.grant({
        installId: action.installId,
        tokens: action.tokens,
        now,
      });
    } else if (action.kind === 'plan') {
      requirePlan(plans, action.plan);
      await requireInstall(store, action.installId);
      await store.changePlan({
        installId: action.installId,
        plan: action.plan,
        now,
      });
    }
    const view = await buildAdminInstallView({
      store,
      installId: action.installId,
      now,
      entries: action.kind === 'show' ? action.entries : undefined,
    });
    return { kind: 'install', view };
  } finally {
    await store.close();
  }
}

async function requireInstall(store: Store, installId: string): Promise<void> {
  if (!(await store.getInstall(installId))) {
    throw new AdminCommandError(
      `no install has the id ${installId}. Copy the id from the extension's options page or the backend's log.`,
    );
  }
}

function formatResult(result: AdminResult, shownEntries: number): string {
  if (result.kind === 'plans') {
    return `${result.plans
      .map(
        (plan) =>
          `${plan.name}: ${plan.allowanceTokens} tokens per period, premium weight ${plan.premiumWeight}, ${plan.requestsPerMinute} requests and ${plan.tokensPerMinute} tokens per minute${plan.stripePriceId ? `, Stripe price ${plan.stripePriceId}` : ''}`,
      )
      .join('\n')}\n`;
  }

  const { install, usage, ledger } = result.view;
  const lines = [
    `Install ${install.id}${install.revoked ? ' (revoked)' : ''}, registered ${install.createdAt}`,
    `Plan ${usage.plan}: ${usage.allowance} allowance tokens this period, ${usage.used} used, ${usage.reserved} reserved, ${usage.remaining} remaining`,
    `Period ${usage.periodStart} to ${usage.resetAt} (resets then)`,
  ];
  for (const model of usage.models ?? []) {
    lines.push(
      `  ${model.model} (${model.tier}): ${model.requests} answers, ${model.charged} tokens charged, ${model.cacheHits} cache hits saving ${model.saved}`,
    );
  }
  const entries = shownEntries > 0 ? ledger.slice(-shownEntries) : [];
  if (entries.length > 0) {
    lines.push('Latest ledger entries:');
    for (const entry of entries) {
      lines.push(
        `  ${entry.createdAt} ${entry.kind.padEnd(9)} ${String(entry.allowanceTokens).padStart(8)}${entry.requestId ? ` ${entry.requestId}` : ''}${entry.model ? ` ${entry.model}` : ''}${entry.estimated ? ' (estimated)' : ''}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}
