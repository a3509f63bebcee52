// Room version 10 events against the spec's published vectors and Synapse 1.67's own
// hashing, redaction, signing and event ids (fixtures/vectors/matrix-events.json).
import { describe, expect, test } from 'vitest';
import { loadVectors } from '../../../fixtures/vectors.ts';
import { ed25519KeyPairFromSeed } from '../crypto/ed25519.ts';
import { decodeBase64, encodeUnpaddedBase64 } from '../encoding/base64.ts';
import { unwrap } from '../result.ts';
import { contentHash, eventIdOf } from './hashes.ts';
import { redactEvent } from './redaction.ts';
import { checkContentHash, checkEventSignature, coSignEvent, hashAndSignEvent } from './signing.ts';

type Event = Record<string, unknown>;

describe('fixtures/vectors/matrix-events.json', () => {
  const file = loadVectors('matrix-events');
  test.each(file.tests.map((t) => [`tcId ${t.tcId}: ${t.comment}`, t] as const))(
    '%s',
    async (_, t) => {
      const event = JSON.parse(t.input.event) as Event;
      if (t.result === 'valid') {
        const pair = unwrap(await ed25519KeyPairFromSeed(unwrap(decodeBase64(t.input.seed))));
        expect(encodeUnpaddedBase64(pair.publicKey)).toBe(t.expected.publicKey);
        expect(unwrap(contentHash(event))).toBe(t.expected.contentHash);
        const signed = unwrap(
          await hashAndSignEvent(event, {
            entity: t.input.entity,
            keyId: t.input.keyId,
            keyPair: pair,
          }),
        );
        expect(signed.hashes).toEqual({ sha256: t.expected.contentHash });
        expect(signed.signatures[t.input.entity]?.[t.input.keyId]).toBe(t.expected.signature);
        // Synapse keeps parts of `unsigned` when it prunes; the spec's redaction drops it.
        expect(redactEvent(signed)).toEqual(t.expected.redacted);
        if (t.expected.eventId !== undefined) {
          expect(unwrap(eventIdOf(signed))).toBe(t.expected.eventId);
        }
        const keys = new Map([[t.input.keyId, pair.publicKey]]);
        expect((await checkEventSignature(signed, t.input.entity, keys)).ok).toBe(true);
        expect(checkContentHash(signed).ok).toBe(true);
      } else {
        const keys = new Map([['ed25519:1', unwrap(decodeBase64(t.input.verifyKey))]]);
        const signature = await checkEventSignature(event, t.input.entity, keys);
        const verdict = signature.ok ? checkContentHash(event) : signature;
        expect(verdict.ok ? 'valid' : verdict.error.kind).toBe(t.expected.failure);
      }
    },
  );
});

describe('room version 10 events', () => {
  const seed = new Uint8Array(32).fill(7);
  const event: Event = {
    type: 'm.room.member',
    room_id: '!r:a.example',
    sender: '@u:a.example',
    state_key: '@v:b.example',
    origin: 'a.example',
    origin_server_ts: 1,
    content: { membership: 'invite', displayname: 'V' },
    prev_events: [],
    auth_events: [],
    depth: 2,
  };

  test('the event id survives redaction and co-signing, and changes with any kept field', async () => {
    const a = {
      entity: 'a.example',
      keyId: 'ed25519:a',
      keyPair: unwrap(await ed25519KeyPairFromSeed(seed)),
    };
    const b = {
      entity: 'b.example',
      keyId: 'ed25519:b',
      keyPair: unwrap(await ed25519KeyPairFromSeed(seed.map((x) => x + 1))),
    };
    const signed = unwrap(await hashAndSignEvent(event, a));
    const id = unwrap(eventIdOf(signed));
    expect(id).toMatch(/^\$[A-Za-z0-9_-]{43}$/);
    expect(unwrap(eventIdOf(redactEvent(signed)))).toBe(id);
    const cosigned = unwrap(await coSignEvent(signed, b));
    expect(unwrap(eventIdOf(cosigned))).toBe(id);
    expect(Object.keys(cosigned.signatures)).toEqual(['a.example', 'b.example']);
    expect(cosigned.hashes).toEqual(signed.hashes);
    const keysA = new Map([['ed25519:a', a.keyPair.publicKey]]);
    expect((await checkEventSignature(cosigned, 'a.example', keysA)).ok).toBe(true);
    const moved = { ...signed, depth: 3 };
    expect(unwrap(eventIdOf(moved))).not.toBe(id);
  });

  test('redaction never changes its input and always leaves a content object', () => {
    const frozen = Object.freeze({
      ...event,
      content: Object.freeze({ membership: 'invite', displayname: 'V' }),
    });
    const noContent = { type: 'm.room.message', room_id: '!r:a.example' };
    expect(redactEvent(frozen).content).toEqual({ membership: 'invite' });
    expect(frozen.content).toEqual({ membership: 'invite', displayname: 'V' });
    expect(redactEvent(noContent)).toEqual({ ...noContent, content: {} });
  });
});
