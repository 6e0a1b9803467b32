/**
 * Helpers shared by the provider adapter tests: a default call and a
 * collector that drains a stream into its parts.
 */
import type { ChatMessage } from '../../../lib/protocol';
import type {
  ProviderCallOptions,
  ProviderEvent,
  ProviderUsage,
} from '../../../server/providers/types';

export const SYSTEM_PROMPT = 'You are Tokenwise, a concise assistant.';
export const QUESTION = 'What is the capital of France?';

/** Builds call options for one question, with overrides. */
export function buildCall(
  overrides: Partial<ProviderCallOptions> = {},
): ProviderCallOptions {
  const messages: ChatMessage[] = [{ role: 'user', content: QUESTION }];
  return {
    model: 'test-model',
    system: SYSTEM_PROMPT,
    messages,
    maxOutputTokens: 256,
    signal: new AbortController().signal,
    ...overrides,
  };
}

export interface CollectedStream {
  events: ProviderEvent[];
  text: string;
  /** Text deltas in order. */
  deltas: string[];
  usages: ProviderUsage[];
  finishReason: string | undefined;
  /** What the stream threw, if anything. */
  error: unknown;
}

/** Drains a stream, keeping its events and the error that ended it. */
export async function collectStream(
  stream: AsyncIterable<ProviderEvent>,
): Promise<CollectedStream> {
  const events: ProviderEvent[] = [];
  let error: unknown;
  try {
    for await (const event of stream) {
      events.push(event);
    }
  } catch (caught) {
    error = caught;
  }

  const deltas = events.flatMap((event) =>
    event.type === 'text-delta' ? [event.text] : [],
  );
  return {
    events,
    text: deltas.join(''),
    deltas,
    usages: events.flatMap((event) =>
      event.type === 'usage' ? [event.usage] : [],
    ),
    finishReason: events.find((event) => event.type === 'finish')?.reason,
    error,
  };
}
