import { describe, expect, test } from 'vitest';
import { curlOf, recordReceived, recordSent, type Exchange } from './exchanges.ts';
import { compose, NetworkError } from './transport.ts';

describe('exchanges on the wire', () => {
  test('a sent request and its answer are recorded, and print as a curl line that quotes', async () => {
    const log: Exchange[] = [];
    const transport = compose(
      () => Promise.resolve(Response.json({ errcode: 'M_UNAUTHORIZED' }, { status: 401 })),
      recordSent(log),
    );
    const answer = await transport(
      new Request('http://127.0.0.1:1/_matrix/federation/v1/send/t1', {
        method: 'PUT',
        headers: {
          authorization: 'X-Matrix origin="a",sig="x"',
          'content-type': 'application/json',
          'x-other': 'dropped',
        },
        body: `{"it's":1}`,
      }),
    );
    // The caller still reads the whole answer.
    expect(await answer.json()).toEqual({ errcode: 'M_UNAUTHORIZED' });
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(log).toHaveLength(1);
    expect(log[0]?.headers).toEqual({
      authorization: 'X-Matrix origin="a",sig="x"',
      'content-type': 'application/json',
    });
    expect(curlOf(log[0] as Exchange)).toBe(
      `curl -X PUT 'http://127.0.0.1:1/_matrix/federation/v1/send/t1' -H 'authorization: X-Matrix origin="a",sig="x"' -H 'content-type: application/json' --data-raw '{"it'\\''s":1}'\n  -> 401 {"errcode":"M_UNAUTHORIZED"}`,
    );
  });

  test('a request that got no answer is recorded with why, and the error still reaches the caller', async () => {
    const log: Exchange[] = [];
    const transport = compose(
      () => Promise.reject(new NetworkError('refused', 'http://127.0.0.1:1/')),
      recordSent(log),
    );
    await expect(transport(new Request('http://127.0.0.1:1/'))).rejects.toThrow('refused');
    expect(curlOf(log[0] as Exchange)).toContain('-> no answer: ');
  });

  test("what a peer received is marked as the target's request", async () => {
    const log: Exchange[] = [];
    const handler = recordReceived(log, () => Promise.resolve(new Response('ok')));
    await handler(new Request('https://localhost:9/_matrix/key/v2/server'));
    expect(curlOf(log[0] as Exchange)).toMatch(/^\(sent by the target to fedconn\) curl -X GET/);
  });

  test('secrets stay out of the record: bearer tokens and token, password and secret fields', async () => {
    const log: Exchange[] = [];
    const transport = compose(
      () => Promise.resolve(Response.json({ access_token: 'syt_abc', user_id: '@a:hs' })),
      recordSent(log),
    );
    await transport(
      new Request('http://127.0.0.1:1/_fedconn/v1/provision/identity/token', {
        method: 'POST',
        headers: { authorization: 'Bearer s3cret', 'content-type': 'application/json' },
        body: JSON.stringify({ user_id: '@a:hs', nested: { password: 'p', mac: 'm' } }),
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 0));
    const line = curlOf(log[0] as Exchange);
    for (const secret of ['s3cret', 'syt_abc', '"p"']) expect(line).not.toContain(secret);
    expect(line).toContain('authorization: Bearer <redacted>');
    expect(line).toContain('"password":"<redacted>"');
    expect(line).toContain('"mac":"m"');
    expect(line).toContain('"user_id":"@a:hs"');
    expect(log[0]?.answerType).toBe('application/json');
  });
});
