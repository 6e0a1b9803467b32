/** Number formatting for the extension pages. */

const tokenFormat = new Intl.NumberFormat(undefined);

/** Formats a token count with the browser's digit grouping, e.g. 12,345. */
export function formatTokens(tokens: number): string {
  return tokenFormat.format(tokens);
}

/** Formats a byte count in kB below 1 MB and in MB above, for the browser's locale. */
export function formatBytes(bytes: number): string {
  const kilobytes = bytes / 1024;
  if (kilobytes < 1024) {
    return `${kilobytes.toLocaleString(undefined, { maximumFractionDigits: 1 })} kB`;
  }
  return `${(kilobytes / 1024).toLocaleString(undefined, { maximumFractionDigits: 2 })} MB`;
}
