// Matrix-style error bodies: every 4xx/5xx answer of a reference service is
// { errcode, error } plus optional extra fields (M_INVALID_PEPPER carries the
// current algorithm and pepper, for example).

/** Error codes the reference services use, with the HTTP status each comes with. */
export const ERRCODES = {
  M_BAD_JSON: 400,
  M_NOT_JSON: 400,
  M_INVALID_PARAM: 400,
  M_MISSING_PARAM: 400,
  M_INVALID_PEPPER: 400,
  M_INCOMPATIBLE_ROOM_VERSION: 400,
  M_UNAUTHORIZED: 401,
  M_MISSING_TOKEN: 401,
  M_UNKNOWN_TOKEN: 401,
  M_FORBIDDEN: 403,
  M_NOT_FOUND: 404,
  M_UNRECOGNIZED: 404,
  M_CONFLICT: 409,
  M_TOO_LARGE: 413,
  M_LIMIT_EXCEEDED: 429,
  M_UNKNOWN: 500,
} as const;
export type Errcode = keyof typeof ERRCODES;

export interface MatrixError {
  readonly errcode: Errcode;
  readonly error: string;
  readonly [extra: string]: unknown;
}

export interface ErrorAnswer {
  readonly status: number;
  readonly body: MatrixError;
}

export function matrixError(
  errcode: Errcode,
  error: string,
  extra: Readonly<Record<string, unknown>> = {},
  status: number = ERRCODES[errcode],
): ErrorAnswer {
  return { status, body: { ...extra, errcode, error } };
}

/** Reads an error body from an untrusted answer; anything else yields undefined. */
export function parseMatrixError(value: unknown): { errcode: string; error: string } | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { errcode, error } = value as Record<string, unknown>;
  if (typeof errcode !== 'string' || errcode === '') return undefined;
  return { errcode, error: typeof error === 'string' ? error : '' };
}
