/**
 * Messages on the side panel's `runtime.connect` port named "chat". The
 * panel asks and stops; the background streams each answer's events back.
 * Both ends parse every message with these schemas.
 */
import { z } from 'zod';
import {
  REQUEST_LIMITS,
  chatMessageSchema,
  contextReportSchema,
  errorCodeSchema,
  pageContextSchema,
  requestedTierSchema,
  tierSchema,
} from '../protocol';

/** Name of the port the side panel opens to the background. */
export const CHAT_PORT_NAME = 'chat';

/** Thrown when a message does not match its schema. */
export class InvalidMessageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InvalidMessageError';
  }
}

const answerId = z.uuid();
const tokenCount = z.number().int().nonnegative();

/** Panel to background: answer a question. */
export const askMessageSchema = z.object({
  type: z.literal('ask'),
  /** Chosen by the panel; also the backend request id. */
  answerId,
  conversationId: z.string().min(1).max(200),
  question: z.string().trim().min(1).max(REQUEST_LIMITS.questionChars),
  /** Earlier turns, oldest first, as sent to the backend. */
  history: z
    .array(chatMessageSchema)
    .max(REQUEST_LIMITS.historyMessages)
    .default([]),
  tier: requestedTierSchema.default('auto'),
  /** Readable text of a page the question is about. */
  pageContext: pageContextSchema.optional(),
  /**
   * Whether the background may offer a cached answer to a similar question
   * instead of answering; false for "Ask anyway".
   */
  offerSimilar: z.boolean().default(true),
  /** Cache key of an offered answer the user chose to use. */
  similarKey: z.string().max(200).optional(),
});
export type AskMessage = z.output<typeof askMessageSchema>;

/** Panel to background: stop an answer that is streaming. */
export const stopMessageSchema = z.object({
  type: z.literal('stop'),
  answerId,
});

export const panelMessageSchema = z.discriminatedUnion('type', [
  askMessageSchema,
  stopMessageSchema,
]);
export type PanelMessage = z.output<typeof panelMessageSchema>;
export type PanelMessageInput = z.input<typeof panelMessageSchema>;

const answerErrorCodeSchema = z.union([
  errorCodeSchema,
  z.enum([
    'backend_unreachable',
    'backend_timeout',
    'invalid_response',
    'stream_interrupted',
    'background_disconnected',
    'extension_failed',
  ]),
]);

/** Background to panel: the events of one answer, and rejected messages. */
export const answerEventSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('answer-route'),
    answerId,
    tier: tierSchema,
    model: z.string(),
    score: z.number().min(0).max(1),
    reasons: z.array(z.string()),
    /** Input tokens the backend counted; the original's for a cache hit. */
    inputTokens: tokenCount,
    fromCache: z.boolean(),
    /** What went with the question besides it, as the backend reported. */
    context: contextReportSchema.optional(),
  }),
  z.object({
    type: z.literal('answer-delta'),
    answerId,
    text: z.string(),
  }),
  z.object({
    type: z.literal('answer-usage'),
    answerId,
    inputTokens: tokenCount,
    outputTokens: tokenCount,
    /** Allowance tokens taken; 0 for a cache hit. */
    charged: tokenCount,
    estimated: z.boolean(),
    fromCache: z.boolean(),
  }),
  z.object({
    type: z.literal('answer-done'),
    answerId,
    finishReason: z.string(),
  }),
  z.object({
    type: z.literal('answer-error'),
    answerId,
    code: answerErrorCodeSchema,
    /** A sentence the user can act on. */
    message: z.string(),
    resetAt: z.string().optional(),
  }),
  z.object({
    type: z.literal('answer-stopped'),
    answerId,
  }),
  z.object({
    /** No exact hit, but a similar question was answered before. */
    type: z.literal('answer-similar'),
    answerId,
    /** The earlier question, as it was asked. */
    question: z.string(),
    /** Cache key to send back as `similarKey` to use the earlier answer. */
    cacheKey: z.string(),
    /** Similarity between 0 and 1. */
    score: z.number().min(0).max(1),
  }),
  z.object({
    type: z.literal('message-rejected'),
    /** The rejected message's answer id, when it had a string one. */
    answerId: z.string().optional(),
    /** Reason the background rejected a panel message. */
    message: z.string(),
  }),
]);
export type AnswerEvent = z.output<typeof answerEventSchema>;

/**
 * Formats zod issues as "path: problem" clauses joined by semicolons, for
 * error messages.
 */
export function formatIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.length > 0 ? issue.path.join('.') : 'message';
      return `${path}: ${issue.message}`;
    })
    .join('; ');
}

/** Parses a message from the panel. Throws InvalidMessageError naming the fields at fault. */
export function parsePanelMessage(value: unknown): PanelMessage {
  const parsed = panelMessageSchema.safeParse(value);
  if (!parsed.success) {
    throw new InvalidMessageError(
      `Invalid message from the side panel (${formatIssues(parsed.error)}).`,
      { cause: parsed.error },
    );
  }
  return parsed.data;
}

/** Parses a message from the background. Throws InvalidMessageError naming the fields at fault. */
export function parseAnswerEvent(value: unknown): AnswerEvent {
  const parsed = answerEventSchema.safeParse(value);
  if (!parsed.success) {
    throw new InvalidMessageError(
      `Invalid message from the background worker (${formatIssues(parsed.error)}).`,
      { cause: parsed.error },
    );
  }
  return parsed.data;
}
