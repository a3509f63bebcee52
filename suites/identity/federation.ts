// MSC4004 federation as the target serves it: pepper rotation (IS-FED-01, -02), and
// third_party_mappings for hashes a trusted pusher declared (IS-FED-03). The server
// under test is the first identity server with MSC4004; pushers are chosen by the
// trust each server declares (pushers.ts).
import { CheckFailure, defineCheck, expectThat, type CheckContext } from '../harness/check.ts';
import type { TargetServer } from '../harness/target.ts';
import { trustedPusher } from './pushers.ts';
import {
  bind,
  drive,
  expectError,
  hashDetails,
  issueToken,
  lookup,
  lookupOk,
  names,
  rotate,
  sha256Hash,
  userId,
} from './support.ts';

/** The identity server under test: the first one of the target with MSC4004. */
export function receiver(ctx: CheckContext): TargetServer {
  const [a] = ctx.instance.servers;
  if (a === undefined) throw new Error('the target has no identity server');
  return a;
}

export const rotationKeepsOldPepper = defineCheck({
  name: 'after a rotation hash_details lists the old pepper and lookups with it are answered',
  rules: ['IS-FED-01'],
  profiles: ['matrix-current'],
  async run(ctx) {
    const a = receiver(ctx);
    const user = userId(ctx, a, 'isrotate');
    const token = await issueToken(ctx, a, user);
    const { word } = names(ctx, 'IS-FED-01');
    const address = `${ctx.instance.namespace}${word()}@example.org`;
    await bind(ctx, a, address, user);
    const before = await hashDetails(ctx, a, token);
    await rotate(ctx, a);
    const after = await hashDetails(ctx, a, token);
    expectThat(
      after.lookup_pepper !== before.lookup_pepper &&
        (after.alt_lookup_peppers ?? []).includes(before.lookup_pepper),
      `${a.serverName}: after rotation hash_details does not list the old pepper`,
      { alt_lookup_peppers: [before.lookup_pepper] },
      after,
    );
    for (const pepper of [before.lookup_pepper, after.lookup_pepper]) {
      const hash = sha256Hash(address, 'email', pepper);
      const answer = await lookupOk(ctx, a, token, {
        algorithm: 'sha256',
        pepper,
        addresses: [hash],
      });
      expectThat(
        answer.mappings[hash] === user,
        `${a.serverName}: a lookup with pepper ${pepper} during the rotation does not find the binding`,
        { [hash]: user },
        answer.mappings,
      );
    }
    ctx.iterations(2);
  },
});

export const retiredPepperRefused = defineCheck({
  name: 'a retired pepper is dropped from hash_details and refused with M_INVALID_PEPPER',
  rules: ['IS-FED-02'],
  profiles: ['matrix-current'],
  async run(ctx) {
    const a = receiver(ctx);
    const user = userId(ctx, a, 'isretire');
    const token = await issueToken(ctx, a, user);
    const { word } = names(ctx, 'IS-FED-02');
    const address = `${ctx.instance.namespace}${word()}@example.org`;
    await bind(ctx, a, address, user);
    const p0 = (await hashDetails(ctx, a, token)).lookup_pepper;
    await rotate(ctx, a);
    await rotate(ctx, a);
    await drive(ctx, a, 'identity.retire_pepper', { pepper: p0 });
    const details = await hashDetails(ctx, a, token);
    expectThat(
      details.lookup_pepper !== p0 && !(details.alt_lookup_peppers ?? []).includes(p0),
      `${a.serverName}: hash_details still lists the retired pepper`,
      `no ${p0}`,
      details,
    );
    expectError(
      await lookup(ctx, a, token, {
        algorithm: 'sha256',
        pepper: p0,
        addresses: [sha256Hash(address, 'email', p0)],
      }),
      400,
      'M_INVALID_PEPPER',
      `${a.serverName}: a lookup with the retired pepper ${p0} was not refused`,
    );
  },
});

export const thirdPartyMappingsFromTrustedPush = defineCheck({
  name: 'a hash a trusted server pushed is answered in third_party_mappings naming that server',
  rules: ['IS-FED-03'],
  profiles: ['matrix-current'],
  async run(ctx) {
    const a = receiver(ctx);
    const pusher = await trustedPusher(ctx, a);
    const [address = ''] = await pusher.hold(ctx, 'IS-FED-03', 1);
    const pushed = await pusher.push(ctx, a, [address]);
    if (pushed.status === undefined || pushed.status < 200 || pushed.status > 299) {
      throw new CheckFailure(`${a.serverName} refused a push from ${pusher.describe}`, {
        expected: 'the push accepted (2xx)',
        actual: JSON.stringify(pushed.report),
      });
    }
    const token = await issueToken(ctx, a, userId(ctx, a, 'isasker'));
    const pepper = (await hashDetails(ctx, a, token)).lookup_pepper;
    const hash = sha256Hash(address, 'email', pepper);
    const answer = await lookupOk(ctx, a, token, {
      algorithm: 'sha256',
      pepper,
      addresses: [hash],
    });
    expectThat(
      answer.third_party_mappings?.[pusher.serverName]?.includes(hash) === true &&
        answer.mappings[hash] === undefined,
      `${a.serverName}: a hash ${pusher.serverName} pushed is not in third_party_mappings`,
      { mappings: {}, third_party_mappings: { [pusher.serverName]: [hash] } },
      answer,
    );
  },
});

export const FEDERATION_LOOKUP_CHECKS = [
  rotationKeepsOldPepper,
  retiredPepperRefused,
  thirdPartyMappingsFromTrustedPush,
];
