// Renaming fresh random values so two worlds compare: every random-looking token is
// renamed in order of first appearance, a digitless base64 id among them, and the
// protocol's own words are kept.
import { describe, expect, test } from 'vitest';
import { canonicalise } from './canonical.ts';
import type { RecordedRequest } from './observer.ts';

const request = (seq: number, path: string, body: unknown): RecordedRequest => ({
  kind: 'request',
  seq,
  at: 0,
  method: 'POST',
  path,
  query: '',
  headers: {},
  body,
});

describe('canonicalise', () => {
  test('two worlds whose ids differ, one id without a digit, compare equal once renamed', () => {
    const one = [
      request(1, '/_fedconn/v1/ds/groups/AbCdEfGhIjKlMnOpQrStUv/join_connection_group', {
        queue: { server: 'hs1.example', queue_id: 'rSHIkD_mWaTEZvjDWIZPuA' },
      }),
    ];
    const two = [
      request(7, '/_fedconn/v1/ds/groups/Zx9Yw8Vu7Ts6Rq5Po4Nm3L/join_connection_group', {
        queue: { server: 'hs1.example', queue_id: 'Qa1Bb2Cc3Dd4Ee5Ff6Gg7H' },
      }),
    ];
    expect(canonicalise(one)).toEqual(canonicalise(two));
    expect(canonicalise(one)[0]).toContain('join_connection_group');
    expect(canonicalise(one)[0]).toContain('"queue_id":"#1"');
  });

  test('the same id twice is the same name; two ids are two names', () => {
    const [a, b] = canonicalise([
      request(1, '/x', { id: 'rSHIkD_mWaTEZvjDWIZPuA', again: 'rSHIkD_mWaTEZvjDWIZPuA' }),
      request(2, '/x', { id: 'AbCdEfGhIjKlMnOpQrStUv' }),
    ]);
    expect(a).toBe(
      '{"kind":"request","at":0,"method":"POST","path":"/x","query":"","headers":{},"body":{"id":"#0","again":"#0"}}',
    );
    expect(b).toContain('"id":"#1"');
  });
});
