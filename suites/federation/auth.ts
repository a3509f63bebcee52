// Request authentication (FED-AUTH, FED-NAME-04): fedconn signs federation requests
// with a key it controls and lies about one thing at a time; the target must refuse.
import fc from 'fast-check';
import { generateEd25519KeyPair } from '../../simulator/protocol/crypto/ed25519.ts';
import { seededRng } from '../../simulator/protocol/crypto/rng.ts';
import { decodeBase64, encodeUnpaddedBase64 } from '../../simulator/protocol/encoding/base64.ts';
import { invalidServerNameArb } from '../../simulator/protocol/server-name/arbitraries.ts';
import { xMatrixHeader } from '../../simulator/federation/x-matrix.ts';
import { checkProperty, defineCheck, expectThat } from '../harness/check.ts';
import {
  answerOf,
  brief,
  expectAuthenticated,
  expectUnauthorized,
  impostor,
  probe,
  sendPath,
  server,
} from './support.ts';

export const wrongDestinationRefused = defineCheck({
  name: 'a correctly signed request addressed to another destination gets 401',
  rules: ['FED-AUTH-02'],
  profiles: ['matrix-current'],
  needs: ['impostor'],
  async run(ctx) {
    const target = server(ctx, 0).serverName;
    const peer = await impostor(ctx, 'sender.auth.example');
    expectAuthenticated(
      await probe(ctx, peer, target),
      `${target}: a correctly addressed request of a peer with valid keys did not authenticate`,
    );
    const others = ctx.instance.servers.map((s) => s.serverName).filter((n) => n !== target);
    const destination = fc.oneof(
      ...(others.length > 0 ? [fc.constantFrom(...others)] : []),
      fc.constant(peer.serverName),
      fc.stringMatching(/^[a-z][a-z0-9]{0,8}$/).map((l) => `${l}.elsewhere.example`),
      fc.constant(`${target}:8448`),
    );
    await checkProperty(
      ctx,
      [destination],
      async (elsewhere) => {
        expectUnauthorized(
          await probe(ctx, peer, target, { destination: elsewhere }),
          `${target} accepted a request signed for destination ${elsewhere}`,
        );
      },
      { numRuns: 4 },
    );
  },
});

type Tamper = 'flip-signature-bit' | 'other-uri' | 'other-content' | 'other-key-pair';

export const badRequestSignatureRefused = defineCheck({
  name: 'a request whose signature does not verify over method, URI and content gets 401',
  rules: ['FED-AUTH-03'],
  profiles: ['matrix-current'],
  needs: ['impostor'],
  async run(ctx) {
    const target = server(ctx, 0).serverName;
    const peer = await impostor(ctx, 'sender.sig.example');
    expectAuthenticated(
      await probe(ctx, peer, target),
      `${target}: a correctly signed request of a peer with valid keys did not authenticate`,
    );
    const stranger = await generateEd25519KeyPair(seededRng(`${ctx.seed} stranger key`));
    let txn = 0;
    await checkProperty(
      ctx,
      [
        fc.constantFrom<Tamper>(
          'flip-signature-bit',
          'other-uri',
          'other-content',
          'other-key-pair',
        ),
        fc.nat({ max: 511 }),
      ],
      async (tamper, bit) => {
        const uri = sendPath(`sig${ctx.seed}x${txn++}`);
        const content = {
          origin: peer.serverName,
          origin_server_ts: ctx.instance.clock.now(),
          pdus: [],
        };
        const sign = (over: { uri?: string; content?: unknown }) =>
          xMatrixHeader(
            {
              method: 'PUT',
              uri: over.uri ?? uri,
              origin: peer.serverName,
              destination: target,
              content: over.content ?? content,
            },
            peer.key,
          );
        let authorization: string;
        switch (tamper) {
          case 'flip-signature-bit': {
            const header = await sign({});
            const sig = /sig="([^"]*)"/.exec(header)?.[1] ?? '';
            const bytes = decodeBase64(sig);
            if (!bytes.ok) throw new Error('cannot decode our own signature');
            const flipped = Uint8Array.from(bytes.value);
            const at = (bit >> 3) % flipped.length;
            flipped[at] = (flipped[at] ?? 0) ^ (1 << (bit & 7));
            authorization = header.replace(sig, encodeUnpaddedBase64(flipped));
            break;
          }
          case 'other-uri':
            authorization = await sign({ uri: `${uri}x` });
            break;
          case 'other-content':
            authorization = await sign({ content: { ...content, origin_server_ts: 1 } });
            break;
          case 'other-key-pair':
            authorization = await xMatrixHeader(
              { method: 'PUT', uri, origin: peer.serverName, destination: target, content },
              { keyId: peer.key.keyId, pair: stranger },
            );
            break;
        }
        const answer = await answerOf(
          await peer.request(target, 'PUT', uri, content, { authorization }),
        );
        expectUnauthorized(answer, `${target} accepted a request with a bad signature (${tamper})`);
      },
      { numRuns: 6 },
    );
  },
});

export const invalidOriginRefused = defineCheck({
  name: 'a signed request whose origin is not a valid server name gets 400',
  rules: ['FED-NAME-04'],
  profiles: ['matrix-current'],
  async run(ctx) {
    const target = server(ctx, 0);
    const key = {
      keyId: 'ed25519:fedconn',
      pair: await generateEd25519KeyPair(seededRng(`${ctx.seed} origin key`)),
    };
    // Origins the header can carry: printable ASCII without quotes or backslashes.
    const origins = fc.oneof(
      fc.constantFrom('localhost:http', 'example.org:', 'example.org:8448x', 'exa mple.org'),
      invalidServerNameArb('matrix-current')
        .map((c) => c.input)
        .filter((s) => s !== '' && /^[\x21-\x7e ]+$/.test(s) && !/["\\,]/.test(s)),
    );
    let txn = 0;
    await checkProperty(
      ctx,
      [origins],
      async (origin) => {
        const uri = sendPath(`origin${ctx.seed}x${txn++}`);
        const content = { origin, origin_server_ts: ctx.instance.clock.now(), pdus: [] };
        const authorization = await xMatrixHeader(
          { method: 'PUT', uri, origin, destination: target.serverName, content },
          key,
        );
        const answer = await answerOf(
          await ctx.instance.transport(
            new Request(`${target.origin}${uri}`, {
              method: 'PUT',
              headers: { authorization, 'content-type': 'application/json' },
              body: JSON.stringify(content),
              signal: ctx.signal,
            }),
          ),
        );
        expectThat(
          answer.status === 400,
          `${target.serverName} did not refuse origin ${JSON.stringify(origin)} as not a server name`,
          '400 (the origin is not a valid server name)',
          brief(answer),
        );
      },
      { numRuns: 6 },
    );
  },
});
