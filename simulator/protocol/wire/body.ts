// Decoding request and response bodies at the boundary: size limit, UTF-8,
// JSON, then the schema. Each failure maps to the Matrix error a server answers
// with, so bad input always yields a 4xx naming what was wrong.
import type { z } from 'zod';
import { err, ok, type Result } from '../result.ts';
import { matrixError, type ErrorAnswer } from './errors.ts';

/** Default bound on a JSON body; large enough for any protocol message. */
export const MAX_BODY_BYTES = 256 * 1024;

export function decodeJsonBody<S extends z.ZodType>(
  bytes: Uint8Array,
  schema: S,
  options: { readonly maxBytes?: number; readonly what?: string } = {},
): Result<z.output<S>, ErrorAnswer> {
  const maxBytes = options.maxBytes ?? MAX_BODY_BYTES;
  const what = options.what ?? 'request body';
  if (bytes.length > maxBytes) {
    return err(
      matrixError('M_TOO_LARGE', `${what} is ${bytes.length} bytes; the limit is ${maxBytes}`),
    );
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return err(matrixError('M_NOT_JSON', `${what} is not valid UTF-8`));
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return err(matrixError('M_NOT_JSON', `${what} is not JSON: ${(error as Error).message}`));
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue === undefined || issue.path.length === 0 ? '(root)' : issue.path.join('.');
    return err(matrixError('M_BAD_JSON', `${what}: ${path}: ${issue?.message ?? 'invalid'}`));
  }
  return ok(parsed.data);
}
