import { beforeAll, describe, expect, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { decodeMlsMessage } from 'ts-mls';
import {
  decodeRatchetTree as decodeTree,
  encodeRatchetTree as encodeTree,
} from 'ts-mls/ratchetTree.js';
import { unwrap } from '../result.ts';
import { encryptMessage } from './message.ts';
import { connectionFixture, text, type ConnectionFixture } from './test-fixture.ts';
import {
  decodeGroupInfo,
  decodeKeyPackage,
  decodeMessage,
  decodeProtocolMessage,
  decodeRatchetTree,
  decodeWelcome,
  encodeGroupInfo,
  encodeKeyPackage,
  encodeMessage,
  encodeRatchetTree,
  encodeWelcome,
  fromBase64,
  toBase64,
} from './wire.ts';

let f: ConnectionFixture;
/** One valid encoding of each kind of object that crosses the network. */
let samples: Record<(typeof SAMPLE_NAMES)[number], Uint8Array>;
beforeAll(async () => {
  f = await connectionFixture();
  const app = unwrap(await encryptMessage(f.alice2, text('hello'))).message;
  samples = {
    groupInfo: encodeGroupInfo(f.exported0.groupInfo),
    externalCommit: encodeMessage(f.join.commit),
    memberCommit: encodeMessage(f.added.commit),
    welcome: encodeWelcome(f.added.welcome),
    keyPackage: encodeKeyPackage(f.kp2.publicPackage),
    applicationMessage: encodeMessage(app),
    ratchetTree: encodeRatchetTree(f.alice2.state.ratchetTree),
  };
});

/** Every decoder, each of which must be total. */
const decoders: Record<string, (b: Uint8Array) => { ok: boolean; error?: { kind: string } }> = {
  decodeMessage,
  decodeProtocolMessage,
  decodeGroupInfo,
  decodeWelcome,
  decodeKeyPackage,
  decodeRatchetTree,
};

const SAMPLE_NAMES = [
  'groupInfo',
  'externalCommit',
  'memberCommit',
  'welcome',
  'keyPackage',
  'applicationMessage',
  'ratchetTree',
] as const;
// Mapped lazily: the samples exist only once beforeAll has run.
const sample = (): fc.Arbitrary<Uint8Array> =>
  fc.constantFrom(...SAMPLE_NAMES).map((name) => samples[name]);

describe('round trips', () => {
  it('decodes what it encodes, byte for byte', () => {
    const again = {
      groupInfo: encodeGroupInfo(unwrap(decodeGroupInfo(samples.groupInfo))),
      externalCommit: encodeMessage(unwrap(decodeProtocolMessage(samples.externalCommit))),
      memberCommit: encodeMessage(unwrap(decodeProtocolMessage(samples.memberCommit))),
      welcome: encodeWelcome(unwrap(decodeWelcome(samples.welcome))),
      keyPackage: encodeKeyPackage(unwrap(decodeKeyPackage(samples.keyPackage))),
      applicationMessage: encodeMessage(unwrap(decodeProtocolMessage(samples.applicationMessage))),
      ratchetTree: encodeRatchetTree(unwrap(decodeRatchetTree(samples.ratchetTree))),
    };
    expect(again).toEqual(samples);
  });

  it('decodes to equal values', () => {
    expect(unwrap(decodeGroupInfo(samples.groupInfo))).toEqual(f.exported0.groupInfo);
    expect(unwrap(decodeWelcome(samples.welcome))).toEqual(f.added.welcome);
    expect(unwrap(decodeKeyPackage(samples.keyPackage))).toEqual(f.kp2.publicPackage);
    // (Commits are compared as bytes above: the sender's in-memory leaf node
    // carries group_id and leaf_index, which are signed but not sent.)
  });

  it('refuses a non-minimal vector length that ts-mls alone accepts: malformed', () => {
    // A Welcome ends with encrypted_group_info<V>; re-encode its 2-byte length
    // header in the 4-byte form (RFC 9420 §2.1.2 requires the shortest).
    const bytes = samples.welcome;
    const data = f.added.welcome.encryptedGroupInfo;
    expect(data.length).toBeGreaterThan(63);
    expect(data.length).toBeLessThan(16384);
    const start = bytes.length - data.length - 2;
    const long = new Uint8Array([
      ...bytes.subarray(0, start),
      0x80,
      0x00,
      data.length >> 8,
      data.length & 0xff,
      ...data,
    ]);
    expect(decodeMlsMessage(long, 0)?.[1]).toBe(long.length);
    const result = decodeWelcome(long);
    expect(result.ok ? 'ok' : result.error.kind).toBe('malformed');
  });

  it('refuses an optional<T> presence octet other than 0 or 1: malformed', () => {
    // Find a presence octet 0 (a blank node of the 4-leaf tree) by setting
    // candidate zeros to 2: ts-mls reads 2 as "absent" and re-encodes it as 0.
    const bytes = samples.ratchetTree;
    const nonCanonical = (i: number): Uint8Array | undefined => {
      if (bytes[i] !== 0) return undefined;
      const mutated = bytes.slice();
      mutated[i] = 2;
      try {
        const decoded = decodeTree(mutated, 0);
        if (decoded?.[1] !== mutated.length) return undefined;
        return encodeTree(decoded[0])[i] === 0 ? mutated : undefined;
      } catch {
        return undefined; // ts-mls's own decoder throws on some inputs
      }
    };
    const mutated = Array.from(bytes.keys()).reduce<Uint8Array | undefined>(
      (found, i) => found ?? nonCanonical(i),
      undefined,
    );
    if (mutated === undefined) throw new Error('no blank node in the fixture tree');
    const result = decodeRatchetTree(mutated);
    expect(result.ok ? 'ok' : result.error.kind).toBe('malformed');
  });

  it('refuses a well-formed message of the wrong kind: unexpected-wireformat', () => {
    const result = decodeGroupInfo(samples.welcome);
    expect(result.ok ? 'ok' : result.error.kind).toBe('unexpected-wireformat');
    const notProtocol = decodeProtocolMessage(samples.keyPackage);
    expect(notProtocol.ok ? 'ok' : notProtocol.error.kind).toBe('unexpected-wireformat');
  });

  it('refuses trailing bytes: malformed', () => {
    const long = new Uint8Array([...samples.groupInfo, 0]);
    const result = decodeGroupInfo(long);
    expect(result.ok ? 'ok' : result.error.kind).toBe('malformed');
  });

  test.prop([fc.uint8Array({ maxLength: 300 })])('base64 round-trips', (bytes) => {
    const encoded = toBase64(bytes);
    expect(encoded).not.toMatch(/[=\s-_]/);
    expect(unwrap(fromBase64(encoded))).toEqual(bytes);
  });

  it('base64 matches RFC 4648 test vectors, unpadded', () => {
    const vectors = ['', 'Zg', 'Zm8', 'Zm9v', 'Zm9vYg', 'Zm9vYmE', 'Zm9vYmFy'];
    vectors.forEach((v, i) => {
      expect(toBase64(text('foobar'.slice(0, i)))).toBe(v);
    });
  });

  it.each(['Zg==', 'Zm9v YmFy', 'Zm9vYmF-', 'Z', 'Zh', '!!!!'])(
    'fromBase64 refuses %j: malformed',
    (input) => {
      const result = fromBase64(input);
      expect(result.ok ? 'ok' : result.error.kind).toBe('malformed');
    },
  );
});

// Decoding is cheap (microseconds), so these run many cases.
describe('decoding never throws', () => {
  test.prop([fc.uint8Array({ maxLength: 600 })], { numRuns: 2000 })('on random bytes', (bytes) => {
    for (const decode of Object.values(decoders)) {
      const result = decode(bytes);
      if (!result.ok) expect(['malformed', 'unexpected-wireformat']).toContain(result.error?.kind);
    }
  });

  // A valid MLSMessage header (version mls10, each wire format) followed by
  // random bytes gets the fuzz past the first byte checks, into the bodies.
  test.prop([fc.integer({ min: 1, max: 5 }), fc.uint8Array({ maxLength: 600 })], { numRuns: 2000 })(
    'on a valid header followed by random bytes',
    (wireformat, body) => {
      const bytes = new Uint8Array([0, 1, 0, wireformat, ...body]);
      for (const decode of Object.values(decoders)) decode(bytes);
    },
  );

  test.prop([sample(), fc.nat()], { numRuns: 1000 })(
    'on every truncation of a valid encoding, which is malformed',
    (bytes, cut) => {
      const prefix = bytes.subarray(0, cut % bytes.length);
      for (const decode of Object.values(decoders)) {
        const result = decode(prefix);
        expect(result.ok ? 'ok' : result.error?.kind).toBe('malformed');
      }
    },
  );

  test.prop(
    [
      sample(),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), {
        minLength: 1,
        maxLength: 4,
      }),
    ],
    { numRuns: 2000 },
  )(
    'on valid encodings with bytes flipped; what still decodes re-encodes identically',
    (bytes, flips) => {
      const mutated = bytes.slice();
      for (const [at, mask] of flips) {
        const i = at % mutated.length;
        mutated[i] = (mutated[i] ?? 0) ^ mask;
      }
      const message = decodeMessage(mutated);
      if (message.ok) expect(encodeMessage(message.value)).toEqual(mutated);
      const tree = decodeRatchetTree(mutated);
      if (tree.ok) expect(encodeRatchetTree(tree.value)).toEqual(mutated);
    },
  );

  test.prop([fc.string({ maxLength: 200 })], { numRuns: 1000 })(
    'fromBase64 on any string; what it accepts is canonical',
    (input) => {
      const result = fromBase64(input);
      if (result.ok) expect(toBase64(result.value)).toBe(input);
    },
  );
});
