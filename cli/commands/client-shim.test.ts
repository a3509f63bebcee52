// `fedconn client-shim`: only mutants of the reference client are taken, by name.
import { describe, expect, test } from 'vitest';
import { capturedIo } from '../captured-io.ts';
import { main } from '../main.ts';

describe('fedconn client-shim', () => {
  test.each([
    ['nope', /--mutant: "nope" is not a mutant of the reference client/],
    // A mutant of the reference servers: the shim is the client only.
    [
      'FED-KEYS-03/omit-valid-until-ts',
      /"FED-KEYS-03\/omit-valid-until-ts" is not a mutant of the reference client/,
    ],
  ])('--mutant %s exits 2 naming what was wrong', async (mutant, message) => {
    const io = capturedIo();
    expect(await main(['client-shim', '--mutant', mutant], io)).toBe(2);
    expect(io.stderr()).toMatch(message);
  });
});
