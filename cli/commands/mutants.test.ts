import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { mutantsCommand } from './mutants.ts';
import { capturedIo } from '../captured-io.ts';

const capture = capturedIo;

describe('fedconn mutants --target http', () => {
  test('a server mutant served by fedconn serve is killed over HTTP; a client mutant is unchecked, saying why', async () => {
    const out = mkdtempSync(join(tmpdir(), 'fedconn-mutants-'));
    const io = capture();
    const code = await mutantsCommand(
      {
        target: 'http',
        only: ['FED-NAME-09/ignore-well-known', 'CONN-PRIV-03/authenticate-discovery'],
        out,
      },
      io,
    );
    expect(code).toBe(0);
    const written = JSON.parse(readFileSync(join(out, 'mutants-http.json'), 'utf8')) as {
      target: string;
      mutants: { name: string; killed: boolean; note?: string }[];
    };
    expect(written.target).toBe('http');
    expect(written.mutants).toEqual([
      expect.objectContaining({
        name: 'CONN-PRIV-03/authenticate-discovery',
        killed: false,
        note: expect.stringContaining('reference client') as unknown,
      }),
      expect.objectContaining({ name: 'FED-NAME-09/ignore-well-known', killed: true }),
    ]);
    expect(io.text()).toContain('over http');
  }, 120_000);

  test('an unknown target is a usage error', async () => {
    await expect(mutantsCommand({ target: 'ftp' }, capture())).rejects.toThrow(/--target/);
  });
});
