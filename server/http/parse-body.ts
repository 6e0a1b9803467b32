/**
 * Request body parsing with a zod schema from lib/protocol.ts.
 */
import type { Context } from 'hono';
import type { z } from 'zod';
import { HttpError } from './errors';

export interface ParseJsonBodyOptions {
  /** Treat an empty body as `{}`, for endpoints whose fields are all optional. */
  allowEmpty?: boolean;
}

/**
 * Reads the request body as JSON and parses it with `schema`. Throws an
 * HttpError 400 `invalid_request` for malformed JSON, and for a schema
 * violation with the path of the first invalid field. A string or list
 * over its schema maximum (question, history, page text) is an HttpError
 * 413 `prompt_too_large` naming the field instead.
 */
export async function parseJsonBody<Schema extends z.ZodType>(
  context: Context,
  schema: Schema,
  options: ParseJsonBodyOptions = {},
): Promise<z.output<Schema>> {
  const text = await context.req.text();

  let json: unknown;
  if (text.trim() === '' && options.allowEmpty) {
    json = {};
  } else {
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new HttpError({
        status: 400,
        code: 'invalid_request',
        message: `The request body is not valid JSON (${(error as Error).message}). Send a JSON object.`,
        cause: error,
      });
    }
  }

  const result = schema.safeParse(json);
  if (result.success) {
    return result.data;
  }

  const issue = result.error.issues[0];
  const field = issue?.path.map(String).join('.') ?? '';
  if (
    issue?.code === 'too_big' &&
    (issue.origin === 'string' || issue.origin === 'array')
  ) {
    const unit = issue.origin === 'string' ? 'characters' : 'items';
    throw new HttpError({
      status: 413,
      code: 'prompt_too_large',
      message: `The field "${field}" is too long: at most ${String(issue.maximum)} ${unit} are accepted. Send less page text or history, or a shorter question.`,
      details: { field },
    });
  }
  if (field === '') {
    throw new HttpError({
      status: 400,
      code: 'invalid_request',
      message: `The request body is invalid: ${issue?.message ?? 'unknown problem'}. Send a JSON object with the documented fields.`,
    });
  }
  throw new HttpError({
    status: 400,
    code: 'invalid_request',
    message: `The field "${field}" is invalid: ${issue?.message}. Fix it and send the request again.`,
    details: { field },
  });
}
