/**
 * User-facing strings from `public/_locales/<locale>/messages.json`,
 * through `browser.i18n.getMessage`. Outside the browser (unit tests, where
 * the fake browser has no i18n) the bundled English messages are used.
 */
import { browser } from 'wxt/browser';
import english from '../../public/_locales/en/messages.json';

/** Names of the messages in messages.json. */
export type MessageName = keyof typeof english;

/**
 * Returns the message in the browser's language, with `$1`…`$9` replaced by
 * the substitutions in order.
 */
export function t(
  name: MessageName,
  ...substitutions: Array<string | number>
): string {
  const values = substitutions.map(String);
  try {
    // WXT types getMessage from the messages of its last `wxt prepare`.
    const getMessage = browser.i18n.getMessage as (
      messageName: string,
      substitutions?: string[],
    ) => string;
    const message = getMessage.call(browser.i18n, name, values);
    if (message) {
      return message;
    }
  } catch {
    // The fake browser of unit tests throws: fall back to English below.
  }
  return substitute(english[name].message, values);
}

function substitute(message: string, values: readonly string[]): string {
  return message.replace(/\$(\d)/g, (placeholder, digit: string) => {
    return values[Number(digit) - 1] ?? placeholder;
  });
}
