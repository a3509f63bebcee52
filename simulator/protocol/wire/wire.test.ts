import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { z } from 'zod';
import { decodeJsonBody } from './body.ts';
import { ERRCODES, matrixError, parseMatrixError } from './errors.ts';

const schema = z.strictObject({
  algorithm: z.string(),
  pepper: z.string(),
  addresses: z.array(z.string()),
});
const bytes = (text: string) => new TextEncoder().encode(text);

describe('decodeJsonBody', () => {
  test('decodes a valid body', () => {
    const r = decodeJsonBody(bytes('{"algorithm":"sha256","pepper":"p","addresses":[]}'), schema);
    expect(r).toEqual({ ok: true, value: { algorithm: 'sha256', pepper: 'p', addresses: [] } });
  });

  test('names what was wrong, with the Matrix errcode and status', () => {
    const cases: [Uint8Array, string, RegExp][] = [
      [bytes('{"algorithm":'), 'M_NOT_JSON', /not JSON/],
      [new Uint8Array([0xff, 0xfe]), 'M_NOT_JSON', /UTF-8/],
      [bytes('{"algorithm":"sha256","pepper":1,"addresses":[]}'), 'M_BAD_JSON', /pepper/],
      [
        bytes('{"algorithm":"sha256","pepper":"p","addresses":[],"x":1}'),
        'M_BAD_JSON',
        /\(root\)|x/,
      ],
      [new Uint8Array(300 * 1024).fill(0x20), 'M_TOO_LARGE', /limit/],
    ];
    for (const [input, errcode, message] of cases) {
      const r = decodeJsonBody(input, schema);
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.error.body.errcode).toBe(errcode);
        expect(r.error.status).toBe(errcode === 'M_TOO_LARGE' ? 413 : 400);
        expect(r.error.body.error).toMatch(message);
      }
    }
  });

  test.prop([fc.uint8Array({ maxLength: 512 })], { numRuns: 300 })(
    'never throws on arbitrary bytes',
    (input) => {
      const r = decodeJsonBody(input, schema);
      if (!r.ok) expect(r.error.status).toBeGreaterThanOrEqual(400);
    },
  );

  test.prop([fc.jsonValue()], { numRuns: 300 })(
    'any JSON that is not the shape is M_BAD_JSON',
    (value) => {
      const r = decodeJsonBody(bytes(JSON.stringify(value)), schema);
      if (!r.ok) expect(r.error.body.errcode).toBe('M_BAD_JSON');
    },
  );
});

describe('Matrix errors', () => {
  test('carry errcode, error, extra fields and the status of the code', () => {
    const e = matrixError('M_INVALID_PEPPER', 'Unknown or invalid pepper', {
      algorithm: 'sha256',
      lookup_pepper: 'p',
    });
    expect(e.status).toBe(400);
    expect(e.body).toEqual({
      errcode: 'M_INVALID_PEPPER',
      error: 'Unknown or invalid pepper',
      algorithm: 'sha256',
      lookup_pepper: 'p',
    });
    // Extra fields can never overwrite errcode or error.
    expect(matrixError('M_FORBIDDEN', 'no', { errcode: 'M_OK' }).body.errcode).toBe('M_FORBIDDEN');
    expect(ERRCODES.M_UNAUTHORIZED).toBe(401);
  });

  test('parseMatrixError accepts only bodies with an errcode', () => {
    expect(parseMatrixError({ errcode: 'M_FORBIDDEN', error: 'x' })).toEqual({
      errcode: 'M_FORBIDDEN',
      error: 'x',
    });
    expect(parseMatrixError({ errcode: 'M_FORBIDDEN' })).toEqual({
      errcode: 'M_FORBIDDEN',
      error: '',
    });
    for (const bad of [null, 'x', {}, { errcode: 3 }, { errcode: '' }])
      expect(parseMatrixError(bad)).toBeUndefined();
  });
});
