/** SHA-256 through SubtleCrypto, available in service workers and Node 20. */

/** Returns the SHA-256 digest of a text's UTF-8 bytes as lowercase hex. */
export async function sha256Hex(text: string): Promise<string> {
  const bytes = new TextEncoder().encode(text);
  const digest = await crypto.subtle.digest('SHA-256', bytes);
  return Array.from(new Uint8Array(digest), (byte) =>
    byte.toString(16).padStart(2, '0'),
  ).join('');
}
