/** Number formatting for the extension pages. */

const tokenFormat = new Intl.NumberFormat(undefined);

/** Formats a token count with the browser's digit grouping, e.g. 12,345. */
export function formatTokens(tokens: number): string {
  return tokenFormat.format(tokens);
}
