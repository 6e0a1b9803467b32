/**
 * `tokenwise admin installs|ledger|revoke|export`: lists and searches
 * installs, prints one install's ledger, revokes an install, or exports
 * the ledger of a date range as CSV, either through a running backend's
 * admin API (`--url`, with TOKENWISE_ADMIN_KEY) or directly on its
 * database (`--database`).
 */
import { createWriteStream } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { formatModelRef } from '../../lib/catalog';
import { loadConfig, parseDatabaseUrl } from '../config';
import { openSpendDatabase, type SpendDatabase } from '../dashboard/database';
import {
  installExists,
  revokeInstall,
  searchInstalls,
} from '../dashboard/install-queries';
import { streamLedgerCsv } from '../dashboard/ledger-csv';

export const ADMIN_REPORT_HELP = `Usage: tokenwise admin <action> [arguments] (--url URL | --database DATABASE) [options]

Actions:
  installs [--search TEXT]     List installs, newest first, whose id or plan
                               contains TEXT.
  ledger <installId>           Print the install's ledger entries from
                               --since to --until as CSV.
  revoke <installId>           Revoke the install: its token is rejected
                               from the next request on.
  export                       Write every install's ledger entries from
                               --since to --until as CSV.

Options:
  --since <YYYY-MM-DD>   First UTC day of the range. Default: today.
  --until <YYYY-MM-DD>   Last UTC day of the range, included. Default: today.
  --output <file>        Write the CSV to a file instead of standard output.
  --limit <n>            Installs that installs lists. Default: 50.
`;

export const ADMIN_REPORT_ACTIONS = [
  'installs',
  'ledger',
  'revoke',
  'export',
] as const;
export type AdminReportAction = (typeof ADMIN_REPORT_ACTIONS)[number];

const EXIT_SUCCESS = 0;
const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;
const DAY_MS = 86_400_000;

export interface AdminReportCommandOptions {
  /** Arguments after `admin`, starting with the action. */
  args: string[];
  env: NodeJS.ProcessEnv;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** Runs one report action and returns the exit code. */
export async function runAdminReportCommand(
  options: AdminReportCommandOptions,
): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: options.args,
      allowPositionals: true,
      options: {
        url: { type: 'string' },
        database: { type: 'string' },
        search: { type: 'string' },
        since: { type: 'string' },
        until: { type: 'string' },
        output: { type: 'string' },
        limit: { type: 'string' },
      },
    });
  } catch (error) {
    options.stderr.write(`${(error as Error).message}\n\n${ADMIN_REPORT_HELP}`);
    return EXIT_USAGE;
  }
  const { values, positionals } = parsed;
  const [action, installId] = positionals as [string, string | undefined];
  const usageError = findUsageError(action, installId, values);
  if (usageError !== undefined) {
    options.stderr.write(`${usageError}\n\n${ADMIN_REPORT_HELP}`);
    return EXIT_USAGE;
  }

  const today = new Date().toISOString().slice(0, 10);
  const request: ReportRequest = {
    action: action as AdminReportAction,
    installId,
    search: values.search,
    since: values.since ?? today,
    until: values.until ?? today,
    limit: values.limit === undefined ? 50 : Number(values.limit),
  };
  try {
    const output =
      values.output === undefined
        ? options.stdout
        : createWriteStream(values.output);
    if (values.url !== undefined) {
      await runOverHttp(values.url, request, options.env, output);
    } else {
      await runOnDatabase(
        values.database as string,
        request,
        options.env,
        output,
      );
    }
    return EXIT_SUCCESS;
  } catch (error) {
    options.stderr.write(
      `tokenwise admin ${action}: ${(error as Error).message}\n`,
    );
    return EXIT_FAILURE;
  }
}

interface ReportRequest {
  action: AdminReportAction;
  installId: string | undefined;
  search: string | undefined;
  since: string;
  until: string;
  limit: number;
}

function findUsageError(
  action: string | undefined,
  installId: string | undefined,
  values: Record<string, string | undefined>,
): string | undefined {
  if (!ADMIN_REPORT_ACTIONS.includes(action as AdminReportAction)) {
    return `Unknown action "${action ?? ''}": use ${ADMIN_REPORT_ACTIONS.join(', ')}.`;
  }
  if ((action === 'ledger' || action === 'revoke') && installId === undefined) {
    return `${action} needs an install id.`;
  }
  if ((values.url === undefined) === (values.database === undefined)) {
    return 'Pass exactly one of --url (a running backend) and --database (its database).';
  }
  for (const field of ['since', 'until'] as const) {
    const value = values[field];
    if (value !== undefined && !isDay(value)) {
      return `--${field} "${value}" is not a valid date; write it as YYYY-MM-DD.`;
    }
  }
  if (values.limit !== undefined && !/^[1-9]\d{0,5}$/.test(values.limit)) {
    return `--limit "${values.limit}" is invalid; send a whole number from 1 to 999999.`;
  }
  return undefined;
}

function isDay(value: string): boolean {
  const time = Date.parse(`${value}T00:00:00Z`);
  return (
    /^\d{4}-\d{2}-\d{2}$/.test(value) &&
    !Number.isNaN(time) &&
    new Date(time).toISOString().slice(0, 10) === value
  );
}

async function runOverHttp(
  baseUrl: string,
  request: ReportRequest,
  env: NodeJS.ProcessEnv,
  output: NodeJS.WritableStream,
): Promise<void> {
  const adminKey = env.TOKENWISE_ADMIN_KEY;
  if (adminKey === undefined || adminKey === '') {
    throw new Error(
      "TOKENWISE_ADMIN_KEY is not set; set it to the backend's admin key.",
    );
  }
  const root = baseUrl.replace(/\/+$/, '');
  const range = new URLSearchParams({
    since: request.since,
    until: request.until,
  });
  const encodedId = encodeURIComponent(request.installId ?? '');
  const target = {
    installs: `${root}/v1/admin/installs?${new URLSearchParams({
      search: request.search ?? '',
      limit: String(request.limit),
    })}`,
    ledger: `${root}/v1/admin/installs/${encodedId}/ledger?${range}&format=csv`,
    revoke: `${root}/v1/admin/installs/${encodedId}/revoke`,
    export: `${root}/v1/admin/ledger.csv?${range}`,
  }[request.action];

  const response = await fetch(target, {
    method: request.action === 'revoke' ? 'POST' : 'GET',
    headers: { authorization: `Bearer ${adminKey}` },
  });
  if (!response.ok) {
    const body = (await response.json().catch(() => undefined)) as
      { error?: { message?: string } } | undefined;
    throw new Error(
      body?.error?.message ?? `${target} returned HTTP ${response.status}.`,
    );
  }
  if (request.action === 'installs' || request.action === 'revoke') {
    await writeText(
      output,
      `${JSON.stringify(await response.json(), null, 2)}\n`,
    );
    return;
  }
  if (response.body === null) {
    throw new Error(`${target} returned no body.`);
  }
  await pipeline(
    Readable.fromWeb(response.body as import('node:stream/web').ReadableStream),
    toWritable(output),
    { end: output !== process.stdout },
  );
}

async function runOnDatabase(
  databaseUrl: string,
  request: ReportRequest,
  env: NodeJS.ProcessEnv,
  output: NodeJS.WritableStream,
): Promise<void> {
  const config = loadConfig({
    env,
    overrides: { TOKENWISE_DATABASE_URL: databaseUrl },
  });
  const database = openSpendDatabase(
    parseDatabaseUrl(databaseUrl, process.cwd()),
  );
  try {
    await runOnOpenDatabase(database, request, output, {
      prices: config.prices,
      premiumModel: formatModelRef(config.premiumModel),
    });
  } finally {
    await database.close();
  }
}

async function runOnOpenDatabase(
  database: SpendDatabase,
  request: ReportRequest,
  output: NodeJS.WritableStream,
  prices: Parameters<typeof streamLedgerCsv>[0]['prices'],
): Promise<void> {
  if (request.action === 'installs') {
    const installs = await searchInstalls(database, {
      search: request.search,
      limit: request.limit,
      offset: 0,
    });
    await writeText(output, `${JSON.stringify({ installs }, null, 2)}\n`);
    return;
  }
  if (request.action === 'revoke') {
    const installId = request.installId as string;
    if (!(await revokeInstall(database, installId))) {
      throw new Error(`Install ${installId} does not exist.`);
    }
    await writeText(
      output,
      `${JSON.stringify({ installId, revoked: true }, null, 2)}\n`,
    );
    return;
  }
  const since = Date.parse(`${request.since}T00:00:00Z`);
  const until = Date.parse(`${request.until}T00:00:00Z`) + DAY_MS;
  if (
    request.action === 'ledger' &&
    !(await installExists(database, request.installId as string))
  ) {
    throw new Error(`Install ${request.installId ?? ''} does not exist.`);
  }
  const csv = streamLedgerCsv({
    database,
    prices,
    since,
    until,
    installId: request.action === 'ledger' ? request.installId : undefined,
  });
  await pipeline(
    Readable.fromWeb(csv as import('node:stream/web').ReadableStream),
    toWritable(output),
    { end: output !== process.stdout },
  );
}

function toWritable(output: NodeJS.WritableStream): Writable {
  if (output instanceof Writable) {
    return output;
  }
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      output.write(chunk, callback);
    },
  });
}

function writeText(output: NodeJS.WritableStream, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    output.write(text, (error) => (error ? reject(error) : resolve()));
  });
}
