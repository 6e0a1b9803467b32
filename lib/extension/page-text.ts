/** Preparing a page's readable text to send as context with a question. */
import { REQUEST_LIMITS, type PageContext } from '../protocol';
import { countTokens } from '../tokens';

/** Default budget of page tokens sent with a question. */
export const PAGE_TOKEN_BUDGET = 6_000;

/** A page ready to send, with its token count and whether it was cut. */
export interface PreparedPage extends PageContext {
  /** Estimated tokens of `text`, after trimming. */
  tokens: number;
  /** Estimated tokens of the whole readable text. */
  originalTokens: number;
  trimmed: boolean;
}

/**
 * Collapses runs of blank space, then cuts the text to the token budget
 * and the protocol's character limit, at a word boundary where one is
 * near. Counts are estimates from the tokenizer.
 */
export function preparePageText(
  page: PageContext,
  budget = PAGE_TOKEN_BUDGET,
): PreparedPage {
  const text = page.text
    .replace(/[ \t\f\v\u00a0]+/g, ' ')
    .replace(/\s*\n\s*(\n\s*)+/g, '\n\n')
    .trim();
  const originalTokens = countTokens(text);
  let kept = text.slice(0, REQUEST_LIMITS.pageTextChars);
  let tokens = kept === text ? originalTokens : countTokens(kept);

  // Shrinks in proportion to the overshoot until the count fits; a few
  // rounds suffice because tokens per character barely change.
  while (tokens > budget && kept.length > 0) {
    const ratio = (budget / tokens) * 0.98;
    kept = cutAtWord(kept, Math.floor(kept.length * ratio));
    tokens = countTokens(kept);
  }

  return {
    title: page.title.slice(0, 1_000),
    url: page.url.slice(0, 4_000),
    text: kept,
    tokens,
    originalTokens,
    trimmed: kept.length < text.length,
  };
}

/** Cuts before `length`, at the last space in the final 200 characters when there is one. */
function cutAtWord(text: string, length: number): string {
  const cut = text.slice(0, length);
  const space = cut.lastIndexOf(' ');
  return space > length - 200 && space > 0 ? cut.slice(0, space) : cut;
}
