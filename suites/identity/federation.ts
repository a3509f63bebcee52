// MSC4004 federation as the target serves it: pepper rotation (IS-FED-01, -02), and
// third_party_mappings for hashes a trusted server pushed (IS-FED-03). The push checks
// rely on the topology of the sim target: servers 0 and 1 trust each other.
import { CheckFailure, defineCheck, expectThat, type CheckContext } from '../harness/check.ts';
import {
  bind,
  expectError,
  hashDetails,
  issueToken,
  lookup,
  lookupOk,
  names,
  provision,
  rotate,
  sha256Hash,
  userId,
} from './support.ts';

export function pair(ctx: CheckContext) {
  const [a, b, c] = ctx.instance.servers;
  if (a === undefined || b === undefined) throw new Error('the target needs two servers');
  return { a, b, c };
}

export const rotationKeepsOldPepper = defineCheck({
  name: 'after a rotation hash_details lists the old pepper and lookups with it are answered',
  rules: ['IS-FED-01'],
  profiles: ['matrix-current'],
  async run(ctx) {
    const { a } = pair(ctx);
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
    const { a } = pair(ctx);
    const user = userId(ctx, a, 'isretire');
    const token = await issueToken(ctx, a, user);
    const { word } = names(ctx, 'IS-FED-02');
    const address = `${ctx.instance.namespace}${word()}@example.org`;
    await bind(ctx, a, address, user);
    const p0 = (await hashDetails(ctx, a, token)).lookup_pepper;
    await rotate(ctx, a);
    await rotate(ctx, a);
    await provision(ctx, a, 'pepper/retire', { pepper: p0 });
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

/** Makes server `from` push the hashes of `addresses` to `to`; returns the push report. */
export async function drivePush(
  ctx: CheckContext,
  from: { serverName: string; origin: string; provisioningToken: string },
  to: string,
  addresses: readonly string[],
  pepper?: string,
): Promise<{ status: number | undefined; report: unknown }> {
  const report = (await provision(ctx, from, 'push', {
    destination: to,
    addresses: addresses.map((address) => ({ address, medium: 'email' })),
    ...(pepper === undefined ? {} : { pepper }),
  })) as { answer?: { status: number } };
  return { status: report.answer?.status, report };
}

export const thirdPartyMappingsFromTrustedPush = defineCheck({
  name: 'a hash a trusted server pushed is answered in third_party_mappings naming that server',
  rules: ['IS-FED-03'],
  profiles: ['matrix-current'],
  async run(ctx) {
    const { a, b } = pair(ctx);
    const { word } = names(ctx, 'IS-FED-03');
    const address = `${ctx.instance.namespace}${word()}@example.org`;
    await bind(ctx, b, address, userId(ctx, b, 'isremote'));
    const pushed = await drivePush(ctx, b, a.serverName, [address]);
    if (pushed.status !== 200) {
      throw new CheckFailure(`${b.serverName}'s push to ${a.serverName}, which trusts it, failed`, {
        expected: 'push answered 200',
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
      answer.third_party_mappings?.[b.serverName]?.includes(hash) === true &&
        answer.mappings[hash] === undefined,
      `${a.serverName}: a hash ${b.serverName} pushed is not in third_party_mappings`,
      { mappings: {}, third_party_mappings: { [b.serverName]: [hash] } },
      answer,
    );
  },
});

export const FEDERATION_LOOKUP_CHECKS = [
  rotationKeepsOldPepper,
  retiredPepperRefused,
  thirdPartyMappingsFromTrustedPush,
];
