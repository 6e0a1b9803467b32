/**
 * The ledger as CSV (RFC 4180, CRLF line ends) for a time range, with each
 * entry's cost at catalog prices, streamed page by page so a long range
 * never sits in memory.
 */
import type { SpendDatabase } from './database';
import { listLedgerRows, type LedgerRow } from './install-queries';
import { priceTokens, type PriceLookup } from './spend';

/** Entries read per query. */
const PAGE_SIZE = 1_000;

/** The CSV header row's column names. */
export const LEDGER_CSV_COLUMNS = [
  'id',
  'created_at',
  'kind',
  'request_id',
  'install_id',
  'period_start',
  'tier',
  'model',
  'input_tokens',
  'cached_input_tokens',
  'output_tokens',
  'weight',
  'allowance_tokens',
  'estimated',
  'cost_usd',
] as const;

/**
 * Streams the entries created from `since` (included) to `until`
 * (excluded), oldest first. `cost_usd` is filled on settle entries only,
 * because only they are paid to a provider.
 */
export function streamLedgerCsv(options: {
  database: SpendDatabase;
  prices: PriceLookup;
  since: number;
  until: number;
  installId?: string;
}): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let afterId = 0;
  let headerSent = false;
  return new ReadableStream<Uint8Array>({
    pull: async (controller) => {
      if (!headerSent) {
        headerSent = true;
        controller.enqueue(
          encoder.encode(LEDGER_CSV_COLUMNS.join(',') + '\r\n'),
        );
        return;
      }
      const rows = await listLedgerRows(options.database, {
        installId: options.installId,
        since: options.since,
        until: options.until,
        afterId,
        limit: PAGE_SIZE,
      });
      if (rows.length === 0) {
        controller.close();
        return;
      }
      afterId = rows.at(-1)?.id ?? afterId;
      const lines = rows.map((row) => formatCsvLine(row, options.prices));
      controller.enqueue(encoder.encode(lines.join('')));
    },
  });
}

function formatCsvLine(row: LedgerRow, prices: PriceLookup): string {
  const cost =
    row.kind === 'settle' && row.model !== null
      ? priceTokens(prices, row.model, row)
      : undefined;
  const cells = [
    String(row.id),
    row.createdAt,
    row.kind,
    row.requestId ?? '',
    row.installId,
    row.periodStart,
    row.tier ?? '',
    row.model ?? '',
    String(row.inputTokens),
    String(row.cachedInputTokens),
    String(row.outputTokens),
    String(row.weight),
    String(row.allowanceTokens),
    row.estimated ? 'true' : 'false',
    cost === undefined ? '' : cost.toFixed(9),
  ];
  return cells.map(escapeCsvCell).join(',') + '\r\n';
}

/**
 * Quotes a cell that contains a comma, a quote or a line break, and
 * prefixes `'` to one that a spreadsheet would run as a formula.
 */
export function escapeCsvCell(cell: string): string {
  const safe = /^[=+\-@\t\r]/.test(cell) ? `'${cell}` : cell;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}
