/**
 * Byte positions where cutting an SSE stream is hardest for a decoder.
 */

const LINE_FEED = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/**
 * Finds the awkward cut points of an encoded SSE stream: every position
 * inside a multi-byte UTF-8 character, every position between `\r` and
 * `\n`, and the middle of every event. Returns sorted byte offsets.
 */
export function findAwkwardCuts(bytes: Uint8Array): number[] {
  const cuts = new Set<number>();
  let eventStart = 0;
  let lineStart = 0;

  for (let index = 0; index < bytes.length; index++) {
    const byte = bytes[index];
    // 10xxxxxx is a continuation byte, so a cut before it splits a character.
    if (byte !== undefined && (byte & 0xc0) === 0x80) {
      cuts.add(index);
    }
    if (byte !== LINE_FEED && byte !== CARRIAGE_RETURN) {
      continue;
    }

    const isCrLf = byte === CARRIAGE_RETURN && bytes[index + 1] === LINE_FEED;
    if (isCrLf) {
      cuts.add(index + 1);
    }
    const lineEnd = isCrLf ? index + 2 : index + 1;
    // An empty line ends the event.
    if (index === lineStart) {
      cuts.add(eventStart + Math.floor((lineEnd - eventStart) / 2));
      eventStart = lineEnd;
    }
    lineStart = lineEnd;
    index = lineEnd - 1;
  }

  return [...cuts]
    .filter((cut) => cut > 0 && cut < bytes.length)
    .sort((left, right) => left - right);
}
