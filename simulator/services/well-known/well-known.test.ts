import { describe, expect, test } from 'vitest';
import { createMatrixFederation, HS1, HS2 } from '../../federation/test-support.ts';
import { WELL_KNOWN_PATH, WELL_KNOWN_PROVISION_PATH } from './index.ts';

describe('GET /.well-known/matrix/server', () => {
  test('answers the initial delegation, or 404 M_NOT_FOUND without one', async () => {
    const m = await createMatrixFederation('well-known initial', {
      wellKnown: { [HS2]: 'fed.hs2.example:8448' },
    });
    const delegated = await m.call(HS2, WELL_KNOWN_PATH);
    expect([delegated.status, delegated.body]).toEqual([
      200,
      { 'm.server': 'fed.hs2.example:8448' },
    ]);
    const none = await m.call(HS1, WELL_KNOWN_PATH);
    expect([none.status, none.body]).toMatchObject([404, { errcode: 'M_NOT_FOUND' }]);
  });

  test('provisioning sets a delegation with Cache-Control, a raw answer, or none', async () => {
    const m = await createMatrixFederation('well-known provisioning');
    const set = (body: unknown) => m.provision(HS1, 'PUT', WELL_KNOWN_PROVISION_PATH, body);

    expect(
      (await set({ kind: 'delegate', delegate: 'b.example', cache_control: 'max-age=5' })).body,
    ).toEqual({
      kind: 'delegate',
      valid: true,
    });
    const delegated = await m.call(HS1, WELL_KNOWN_PATH);
    expect(delegated.body).toEqual({ 'm.server': 'b.example' });
    expect(delegated.headers.get('cache-control')).toBe('max-age=5');

    expect((await set({ kind: 'delegate', delegate: '::1' })).body).toEqual({
      kind: 'delegate',
      valid: false,
    });

    await set({ kind: 'raw', status: 500, body: 'not json', headers: { 'x-a': 'b' } });
    const raw = await m.call(HS1, WELL_KNOWN_PATH);
    expect([raw.status, raw.body, raw.headers.get('x-a')]).toEqual([500, 'not json', 'b']);

    await set({ kind: 'none' });
    expect((await m.call(HS1, WELL_KNOWN_PATH)).status).toBe(404);
  });

  test('bad settings are 400, provisioning needs the token, wrong methods are 405', async () => {
    const m = await createMatrixFederation('well-known errors');
    for (const body of [
      { kind: 'raw', status: 204, body: 'x' },
      { kind: 'raw', status: 200, body: 'x', headers: { 'content-length': '1' } },
      { kind: 'raw', status: 200, body: 'x', headers: { a: 'line\nbreak' } },
      { kind: 'delegate' },
      { kind: 'other' },
    ]) {
      const answer = await m.provision(HS1, 'PUT', WELL_KNOWN_PROVISION_PATH, body);
      expect([answer.status, answer.body], JSON.stringify(body)).toMatchObject([
        400,
        { errcode: 'M_BAD_JSON' },
      ]);
    }
    const noToken = await m.call(HS1, WELL_KNOWN_PROVISION_PATH, {
      method: 'PUT',
      body: { kind: 'none' },
    });
    expect(noToken.status).toBe(401);
    const post = await m.call(HS1, WELL_KNOWN_PATH, { method: 'POST', body: {} });
    expect([post.status, post.body]).toMatchObject([405, { errcode: 'M_UNRECOGNIZED' }]);
  });
});
