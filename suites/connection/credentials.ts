// What an AS publishes and issues (CRED-CHAIN, AS role): fedconn fetches the
// published credentials and verifies them as any verifier would, and sends
// signing requests that lack proof of possession.
import fc from 'fast-check';
import { generateEd25519KeyPair } from '../../simulator/protocol/crypto/ed25519.ts';
import { fork } from '../../simulator/protocol/crypto/rng.ts';
import { decodeBase64, encodeUnpaddedBase64 } from '../../simulator/protocol/encoding/base64.ts';
import {
  credentialLabel,
  fingerprint,
  issuerSignedContent,
  selfSignedLabel,
  type Credential,
  type CredentialType,
} from '../../simulator/protocol/credentials/credential.ts';
import { decodeCredential } from '../../simulator/protocol/credentials/schema.ts';
import { verifyWithLabel } from '../../simulator/protocol/labels.ts';
import { signWithLabel } from '../../simulator/protocol/labels.ts';
import { referenceUser } from './initiator-support.ts';
import { CheckFailure, checkProperty, defineCheck, eachOf, expectThat } from '../harness/check.ts';
import {
  AS,
  clientRequest,
  createUser,
  expectOk,
  expectRefused,
  firstServer,
  rngFor,
  send,
  show,
} from './support.ts';

/** Verifies a labelled signature given as base64; returns why it fails, or undefined. */
async function signatureProblem(
  keyText: string,
  label: Parameters<typeof verifyWithLabel>[1],
  content: unknown,
  signatureText: string,
): Promise<string | undefined> {
  const key = decodeBase64(keyText);
  const signature = decodeBase64(signatureText);
  if (!key.ok) return 'the verifying key is not base64';
  if (!signature.ok) return 'the signature is not base64';
  const verdict = await verifyWithLabel(key.value, label, content, signature.value);
  return verdict.ok ? undefined : `${verdict.error.kind}: ${verdict.error.detail}`;
}

async function expectSigned(
  where: string,
  type: CredentialType,
  credential: Credential<{ readonly verifying_key: string }>,
  issuerKey: string,
): Promise<void> {
  const self = await signatureProblem(
    credential.payload.verifying_key,
    selfSignedLabel(type),
    credential.payload,
    credential.self_signature,
  );
  expectThat(
    self === undefined,
    `${where}: the self-signature does not verify under its own key and label ${selfSignedLabel(type)}`,
    'a valid self-signature',
    self,
  );
  const issued = await signatureProblem(
    issuerKey,
    credentialLabel(type),
    issuerSignedContent(credential),
    credential.signature,
  );
  expectThat(
    issued === undefined,
    `${where}: the signature does not verify under the issuer's key and label ${credentialLabel(type)}`,
    'a valid issuer signature',
    issued,
  );
}

export const asPublishesCredentials = defineCheck({
  name: 'each AS publishes, unauthenticated, a self-signed AS credential and intermediates it signed',
  rules: ['CRED-CHAIN-02'],
  profiles: ['multi-device', 'aliases'],
  async run(ctx) {
    for (const server of ctx.instance.servers) {
      const o = await send(ctx, `${server.origin}${AS}/credentials`);
      expectOk(o, `${server.serverName}: GET ${AS}/credentials without authentication`);
      const body = o.body as Record<string, unknown> | undefined;
      const lists = ['as_credentials', 'as_intermediate_credentials', 'revoked_fingerprints'];
      for (const field of lists) {
        expectThat(
          Array.isArray(body?.[field]),
          `${server.serverName}: the credentials answer lacks the list ${field}`,
          lists.join(', '),
          show(o),
        );
      }
      const asCreds = (body?.as_credentials as unknown[]).map((value, i) => {
        const decoded = decodeCredential('AsCredential', value);
        if (!decoded.ok)
          throw new CheckFailure(`${server.serverName}: as_credentials[${i}] is malformed`, {
            expected: 'an AsCredential',
            actual: decoded.error.detail,
          });
        return decoded.value;
      });
      expectThat(
        asCreds.length > 0,
        `${server.serverName}: no AS credential is published`,
        'at least one AS credential',
        show(o),
      );
      for (const [i, cred] of asCreds.entries()) {
        expectThat(
          cred.payload.domain === server.serverName,
          `${server.serverName}: as_credentials[${i}] names another domain`,
          server.serverName,
          cred.payload.domain,
        );
        // Self-issued: both signatures by its own key.
        await expectSigned(
          `${server.serverName}: as_credentials[${i}]`,
          'AsCredential',
          cred,
          cred.payload.verifying_key,
        );
      }
      const byFingerprint = new Map(asCreds.map((c) => [fingerprint(c), c]));
      const intermediates = body?.as_intermediate_credentials as unknown[];
      expectThat(
        intermediates.length > 0,
        `${server.serverName}: no intermediate credential is published`,
        'at least one intermediate credential',
        show(o),
      );
      for (const [i, value] of intermediates.entries()) {
        const where = `${server.serverName}: as_intermediate_credentials[${i}]`;
        const decoded = decodeCredential('AsIntermediateCredential', value);
        if (!decoded.ok)
          throw new CheckFailure(`${where} is malformed`, {
            expected: 'an AsIntermediateCredential',
            actual: decoded.error.detail,
          });
        const signer = byFingerprint.get(decoded.value.payload.signer_fingerprint);
        expectThat(
          signer !== undefined,
          `${where}: its signer_fingerprint names no published AS credential`,
          [...byFingerprint.keys()],
          decoded.value.payload.signer_fingerprint,
        );
        await expectSigned(
          where,
          'AsIntermediateCredential',
          decoded.value,
          signer.payload.verifying_key,
        );
      }
    }
  },
});

export const asPublishesRevocations = defineCheck({
  name: 'once an AS revokes a client credential it lists the fingerprint among revoked_fingerprints, its other credentials unchanged',
  rules: ['CRED-CHAIN-02'],
  profiles: ['multi-device', 'aliases'],
  async run(ctx) {
    const server = firstServer(ctx);
    const { user } = await referenceUser(ctx, server, 'revoked', 1);
    const revoked = fingerprint(user.primary.credential);
    const published = async (when: string) => {
      const o = await send(ctx, `${server.origin}${AS}/credentials`);
      expectOk(o, `${server.serverName}: GET ${AS}/credentials ${when}`);
      const body = (o.body ?? {}) as Record<string, unknown>;
      const list = body.revoked_fingerprints;
      return { body, list: Array.isArray(list) ? (list as unknown[]) : [], shown: show(o) };
    };
    const before = await published('before the revocation');
    expectThat(
      !before.list.includes(revoked),
      `${server.serverName}: a credential it never revoked is listed as revoked`,
      `revoked_fingerprints without ${revoked}`,
      before.shown,
    );
    // A driver without the verb skips the check here, saying so.
    await server.driver.call('as.revoke', { fingerprint: revoked }, ctx.signal);
    const after = await published('after the revocation');
    expectThat(
      after.list.includes(revoked),
      `${server.serverName}: the client credential it revoked is not among revoked_fingerprints`,
      `revoked_fingerprints holding ${revoked}`,
      after.shown,
    );
    for (const field of ['as_credentials', 'as_intermediate_credentials']) {
      expectThat(
        JSON.stringify(after.body[field]) === JSON.stringify(before.body[field]),
        `${server.serverName}: revoking a client credential changed ${field}`,
        JSON.stringify(before.body[field]),
        JSON.stringify(after.body[field]),
      );
    }
  },
});

export const asRefusesCsrWithoutPossession = defineCheck({
  name: "the AS refuses a CSR whose self-signature does not verify (someone else's key, corrupted)",
  rules: ['CRED-CHAIN-08'],
  profiles: ['multi-device', 'aliases'],
  async run(ctx) {
    const server = firstServer(ctx);
    const rng = rngFor(ctx, 'csr possession');
    let run = 0;
    await checkProperty(
      ctx,
      [eachOf('foreign-key', 'flipped-signature', 'wrong-label'), fc.nat(255)] as [
        fc.Arbitrary<'foreign-key' | 'flipped-signature' | 'wrong-label'>,
        fc.Arbitrary<number>,
      ],
      async (corruption, flip) => {
        const r = fork(rng, `run ${run}`);
        const userId = await createUser(ctx, server, `pop${run++}`);
        const own = await generateEd25519KeyPair(fork(r, 'own'));
        const victim = await generateEd25519KeyPair(fork(r, 'victim'));
        const honest = await clientRequest(ctx, server, userId, 'device-1', own);
        let csr: typeof honest;
        if (corruption === 'foreign-key') {
          // Names the victim's key, signed with the requester's own.
          const payload = {
            ...honest.payload,
            verifying_key: encodeUnpaddedBase64(victim.publicKey),
          };
          const sig = await signWithLabel(own, 'ClientCredentialSelfSigned', payload);
          csr = { payload, self_signature: encodeUnpaddedBase64(sig) };
        } else if (corruption === 'wrong-label') {
          const sig = await signWithLabel(own, 'ClientCredential', honest.payload);
          csr = { payload: honest.payload, self_signature: encodeUnpaddedBase64(sig) };
        } else {
          const bytes = decodeBase64(honest.self_signature);
          if (!bytes.ok) throw new Error('unreachable: own signature is base64');
          const flipped = Uint8Array.from(bytes.value);
          flipped[flip % flipped.length] =
            (flipped[flip % flipped.length] ?? 0) ^ (1 << (flip % 8));
          csr = { payload: honest.payload, self_signature: encodeUnpaddedBase64(flipped) };
        }
        const o = await send(ctx, `${server.origin}${AS}/clients`, {
          body: { csr },
          bearer: server.provisioningToken,
        });
        expectRefused(o, `a CSR without proof of possession (${corruption})`);
        // Nothing was issued: the same client id still registers with a proper CSR.
        const proper = await send(ctx, `${server.origin}${AS}/clients`, {
          body: { csr: honest },
          bearer: server.provisioningToken,
        });
        expectOk(proper, `after the refusal, registering ${userId}/device-1 with a proper CSR`);
      },
      { numRuns: 3 },
    );
  },
});
