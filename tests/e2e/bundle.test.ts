import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';

// The tokenizer's encoding tables (about 2 MB) belong in the background
// worker only; the popup must paint without loading them.
const TOKENIZER_MARKER = 'o200k_base';

describe('built extension bundles', () => {
  const extensionDir = inject('extensionDir');
  const chunksDir = join(extensionDir, 'chunks');

  it('keeps the tokenizer in the background only', () => {
    const withTokenizer = readdirSync(chunksDir).filter((file) =>
      readFileSync(join(chunksDir, file), 'utf8').includes(TOKENIZER_MARKER),
    );
    expect(withTokenizer).toEqual([]);
    const background = readFileSync(
      join(extensionDir, 'background.js'),
      'utf8',
    );
    expect(background.includes(TOKENIZER_MARKER)).toBe(true);
  });

  it('keeps each page chunk under 1 MB', () => {
    for (const file of readdirSync(chunksDir)) {
      const size = statSync(join(chunksDir, file)).size;
      expect({ file, small: size < 1_000_000 }).toEqual({ file, small: true });
    }
  });
});
