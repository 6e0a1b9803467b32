/**
 * The offline demo model: it serves any tier whose provider has no API key,
 * so the product runs on a fresh machine. It never calls a network. Its
 * reply states plainly that it is a demo and what it received, and its usage
 * is counted with the same tokenizer the backend reserves with.
 */
import type { Tier } from '../../lib/protocol';
import { countChatTokens, countTokens } from '../../lib/tokens';
import { QUESTION_HEADING } from '../prompt';
import type {
  ProviderAdapter,
  ProviderCallOptions,
  ProviderEvent,
} from './types';

export interface DemoAdapterOptions {
  tier: Tier;
  /** The `provider:model` the tier is configured with, e.g. openai:gpt-5.5. */
  configuredModel: string;
  /** Reason the tier runs on the demo model, as a sentence. */
  reason: string;
  /** Step that switches the tier to a real model, as a sentence. */
  remedy: string;
  /** Pause between deltas in milliseconds, so a client sees it stream. */
  deltaDelayMs?: number;
}

/** Number of deltas the reply is split into. */
const DELTA_COUNT = 6;

/** Maximum characters of the question quoted back. */
const QUOTE_CHARS = 160;

/** Returns the model name the route event shows for a tier on the demo model. */
export function demoModelName(configuredModel: string): string {
  return `demo:${configuredModel}`;
}

/** Creates the demo adapter for one tier. */
export function createDemoAdapter(
  options: DemoAdapterOptions,
): ProviderAdapter {
  return {
    provider: 'demo',
    streamChat: (call) => streamDemoAnswer(options, call),
  };
}

async function* streamDemoAnswer(
  options: DemoAdapterOptions,
  call: ProviderCallOptions,
): AsyncGenerator<ProviderEvent> {
  const inputTokens = countChatTokens([
    { role: 'system', content: call.system },
    ...call.messages,
  ]);
  const fullText = writeDemoReply({ options, call, inputTokens });
  const { text, truncated } = fitToTokens(fullText, call.maxOutputTokens);

  for (const delta of splitIntoDeltas(text, DELTA_COUNT)) {
    call.signal.throwIfAborted();
    yield { type: 'text-delta', text: delta };
    await pause(options.deltaDelayMs ?? 0, call.signal);
  }

  yield {
    type: 'usage',
    usage: {
      inputTokens,
      cachedInputTokens: 0,
      outputTokens: countTokens(text),
    },
  };
  yield { type: 'finish', reason: truncated ? 'length' : 'stop' };
}

function writeDemoReply(input: {
  options: DemoAdapterOptions;
  call: ProviderCallOptions;
  inputTokens: number;
}): string {
  const { options, call, inputTokens } = input;
  const question = findQuestion(call);
  const quoted =
    question.length > QUOTE_CHARS
      ? `${question.slice(0, QUOTE_CHARS)}…`
      : question;

  return [
    `This is a demo answer, not a model's. ${options.reason}, so the Tokenwise backend answered offline.`,
    `It received your question "${quoted}" (${question.length} characters) with ${call.messages.length - 1} earlier turns, routed it to the ${options.tier} tier, and counted ${inputTokens} input tokens.`,
    `To get real answers, ${options.remedy}.`,
  ].join(' ');
}

/** Finds the question in the last user message, after any page context. */
function findQuestion(call: ProviderCallOptions): string {
  const last = call.messages.at(-1)?.content ?? '';
  const heading = `\n${QUESTION_HEADING}\n`;
  const index = last.lastIndexOf(heading);
  return index === -1 ? last : last.slice(index + heading.length);
}

/** Cuts text to at most maxTokens tokens, at a word boundary. */
function fitToTokens(
  text: string,
  maxTokens: number,
): { text: string; truncated: boolean } {
  if (countTokens(text) <= maxTokens) {
    return { text, truncated: false };
  }
  const words = text.split(' ');
  let kept = '';
  for (const word of words) {
    const next = kept === '' ? word : `${kept} ${word}`;
    if (countTokens(next) > maxTokens) {
      break;
    }
    kept = next;
  }
  return { text: kept, truncated: true };
}

function splitIntoDeltas(text: string, count: number): string[] {
  const words = text.split(/(?<= )/);
  const perDelta = Math.max(1, Math.ceil(words.length / count));
  const deltas: string[] = [];
  for (let index = 0; index < words.length; index += perDelta) {
    deltas.push(words.slice(index, index + perDelta).join(''));
  }
  return deltas.filter((delta) => delta !== '');
}

function pause(milliseconds: number, signal: AbortSignal): Promise<void> {
  if (milliseconds <= 0) {
    return Promise.resolve();
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, milliseconds);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
