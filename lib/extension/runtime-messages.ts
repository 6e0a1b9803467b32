/**
 * One-off `runtime.sendMessage` requests from the extension pages to the
 * background, and their responses. Both ends parse with these schemas.
 */
import { z } from 'zod';
import {
  REQUEST_LIMITS,
  chatMessageSchema,
  contextReportSchema,
  pageContextSchema,
  requestedTierSchema,
  tierSchema,
} from '../protocol';
import { InvalidMessageError, formatIssues } from './port-messages';
import { usageSnapshotSchema } from './usage-snapshot';

/** Route and token estimate of a draft question, for the panel's preview. */
export const previewQuestionRequestSchema = z.object({
  type: z.literal('preview-question'),
  question: z.string().max(REQUEST_LIMITS.questionChars),
  history: z
    .array(chatMessageSchema)
    .max(REQUEST_LIMITS.historyMessages)
    .default([]),
  /** The page attached to the draft, whose passages the estimate picks. */
  pageContext: pageContextSchema.optional(),
  /** The tier the draft will be sent with; the router picks when absent or `auto`. */
  tier: requestedTierSchema.optional(),
});

/** Fetch the usage from the backend into the mirror, for the popup. */
export const refreshUsageRequestSchema = z.object({
  type: z.literal('refresh-usage'),
});

/** Read the readable text of a tab, for "Ask about this page". */
export const readPageRequestSchema = z.object({
  type: z.literal('read-page'),
  tabId: z.number().int().nonnegative(),
});

export const runtimeRequestSchema = z.discriminatedUnion('type', [
  previewQuestionRequestSchema,
  refreshUsageRequestSchema,
  readPageRequestSchema,
]);
export type RuntimeRequest = z.output<typeof runtimeRequestSchema>;
export type RuntimeRequestInput = z.input<typeof runtimeRequestSchema>;

export const questionPreviewSchema = z.object({
  type: z.literal('question-preview'),
  tier: tierSchema,
  score: z.number().min(0).max(1),
  reasons: z.array(z.string()),
  /**
   * Estimated input tokens of the prompt: the question with the context
   * the default budget of the tier lets through.
   */
  inputTokens: z.number().int().nonnegative(),
  /** Estimate of what goes with the question and what is left out. */
  context: contextReportSchema.optional(),
});
export type QuestionPreview = z.infer<typeof questionPreviewSchema>;

export const usageRefreshedSchema = z.object({
  type: z.literal('usage-refreshed'),
  snapshot: usageSnapshotSchema,
});
export type UsageRefreshed = z.infer<typeof usageRefreshedSchema>;

/** Parses a request to the background. Throws InvalidMessageError naming the fields at fault. */
export function parseRuntimeRequest(value: unknown): RuntimeRequest {
  const parsed = runtimeRequestSchema.safeParse(value);
  if (!parsed.success) {
    throw new InvalidMessageError(
      `Invalid request to the background worker (${formatIssues(parsed.error)}).`,
      { cause: parsed.error },
    );
  }
  return parsed.data;
}

/** Parses the background's response with a schema. Throws InvalidMessageError naming the fields at fault. */
export function parseRuntimeResponse<T>(
  schema: z.ZodType<T>,
  value: unknown,
): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new InvalidMessageError(
      `Invalid response from the background worker (${formatIssues(parsed.error)}).`,
      { cause: parsed.error },
    );
  }
  return parsed.data;
}

/** The background's answer to `read-page`: the trimmed page or why it failed. */
export const pageReadSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('page-read'),
    title: z.string(),
    url: z.string(),
    text: z.string(),
    /** Estimated tokens of `text`. */
    tokens: z.number().int().nonnegative(),
    /** Estimated tokens of the whole page before trimming. */
    originalTokens: z.number().int().nonnegative(),
    trimmed: z.boolean(),
  }),
  z.object({
    type: z.literal('page-read-failed'),
    /** A sentence the user can act on. */
    message: z.string(),
  }),
]);
export type PageRead = z.infer<typeof pageReadSchema>;
