// The client driver protocol, version 1 (docs/client-driver.md): the verbs through which
// fedconn drives a client under test as its user would, and what each answers. Both
// sides parse with these schemas: fedconn the answers, fedconn's own shim the requests.
// Framing is the command driver's JSON lines (suites/harness/json-lines.ts).
//
// Every request carries `now`, the time the client must take as the present: fedconn's
// servers run on a clock it controls (a simulated day passes in microseconds), and
// signatures, credentials and packages are judged against that clock.
import { z } from 'zod';

export const CLIENT_PROTOCOL = 1;

const serverAccess = z.object({ base_url: z.string(), access_token: z.string() });

/**
 * Where the device finds each server, by server_name (its view of discovery). Sent with
 * every verb, since servers can appear during a check (an impostor), and per device: each
 * device reaches the servers at loopback addresses of its own, by which fedconn tells its
 * requests from its siblings'.
 */
const homeservers = z.record(z.string(), z.string());

/**
 * The world a user lives in: fedconn starts a fresh federation for each check, where the
 * same user ids may come back. A client keeps the users of each world apart, and forgets
 * a world's users at `phoenix.end_world`.
 */
const world = z.string();

/** What every verb one device performs carries: the time, its world, and which device. */
const deviceVerb = z.object({
  now: z.number(),
  world,
  user_id: z.string(),
  client: z.string(),
  homeservers,
});

/** What fedconn asks; the verbs a client lists in its hello answer are the ones it is sent. */
export const clientVerbArgs = {
  'identity.lookup': z.object({
    now: z.number(),
    medium: z.string(),
    address: z.string(),
    /** The identity server the user configured, with the user's access token there. */
    identity_server: serverAccess,
    /** Servers a third_party_mappings answer may name (by server name), with tokens. */
    referrals: z.record(z.string(), serverAccess),
  }),
  'phoenix.create_user': z.object({
    now: z.number(),
    world,
    user_id: z.string(),
    profile: z.enum(['multi-device', 'aliases']),
    /** The user's devices, named by fedconn, each with where it finds every server. */
    devices: z
      .array(z.object({ client: z.string(), homeservers }))
      .min(1, 'a user has at least one device'),
    packages_per_client: z.number().int().min(0),
    /** Bearer token of the test-only provisioning endpoints (user and client registration). */
    provisioning_token: z.string(),
    /** Seeds the client's randomness, where it can take one (fedconn's own shim does). */
    seed: z.string(),
  }),
  'phoenix.publish_connection_packages': deviceVerb.extend({ count: z.number().int().min(1) }),
  'phoenix.register_alias': deviceVerb.extend({
    alias: z.string(),
    payloads: z.number().int().min(1),
  }),
  'phoenix.connect': deviceVerb.extend({
    to: z.union([
      z.object({ user_id: z.string() }),
      z.object({ alias: z.string(), server_name: z.string() }),
    ]),
  }),
  'phoenix.process_queues': deviceVerb,
  'phoenix.poll_alias_queue': deviceVerb.extend({ alias: z.string() }),
  'phoenix.end_world': z.object({ world }),
  'phoenix.send': deviceVerb.extend({ group_id: z.string(), text: z.string() }),
} as const;

export type ClientVerb = keyof typeof clientVerbArgs;
export type ClientVerbArgs<V extends ClientVerb> = z.infer<(typeof clientVerbArgs)[V]>;
export const CLIENT_VERBS = Object.keys(clientVerbArgs) as ClientVerb[];

/** What the user saw and what happened, in order (simulator/clients/phoenix/client.ts). */
export const clientEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('offer-shown'), groupId: z.string(), senderUserId: z.string() }),
  z.object({ type: z.literal('offer-rejected'), reason: z.string() }),
  z.object({ type: z.literal('offer-declined'), groupId: z.string(), senderUserId: z.string() }),
  z.object({
    type: z.literal('joined'),
    groupId: z.string(),
    via: z.enum(['external-commit', 'welcome']),
  }),
  z.object({ type: z.literal('join-failed'), groupId: z.string(), reason: z.string() }),
  z.object({ type: z.literal('offer-discarded'), groupId: z.string(), reason: z.string() }),
  z.object({ type: z.literal('member-rejected'), groupId: z.string(), reason: z.string() }),
  z.object({ type: z.literal('message'), groupId: z.string(), text: z.string() }),
]);

/** A connection group as the device holds it: enough for a check to act in it. */
export const groupState = z.object({
  group_id: z.string(),
  /** Unpadded base64, as on the wire. */
  ear_key: z.string(),
  credential_key: z.string(),
  ds_server: z.string(),
  member_users: z.array(z.string()),
  epoch: z.number(),
  member_count: z.number(),
  /** The device's own leaf signature key, unpadded base64. */
  own_signature_key: z.string(),
});

/** A device's state after each verb: fedconn mirrors it, so checks read it synchronously. */
export const deviceState = z.object({
  client: z.string(),
  /** Its ClientCredential and QueueRef, in their wire form. */
  credential: z.record(z.string(), z.unknown()),
  queue: z.record(z.string(), z.unknown()),
  aliases: z.array(z.string()),
  events: z.array(clientEvent),
  groups: z.array(groupState),
});

export const clientVerbResults = {
  'identity.lookup': z.discriminatedUnion('outcome', [
    z.object({ outcome: z.literal('found'), user_id: z.string() }),
    z.object({ outcome: z.literal('not-found') }),
    /** The client gave up on the lookup (a verdict: what it shows its user). */
    z.object({ outcome: z.literal('gave-up'), reason: z.string() }),
  ]),
  'phoenix.create_user': z.object({ devices: z.array(deviceState) }),
  'phoenix.publish_connection_packages': z.object({ device: deviceState }),
  'phoenix.register_alias': z.object({ device: deviceState }),
  'phoenix.connect': z.object({ group_id: z.string(), device: deviceState }),
  'phoenix.process_queues': z.object({ device: deviceState }),
  'phoenix.poll_alias_queue': z.object({ device: deviceState }),
  'phoenix.send': z.object({ device: deviceState }),
  'phoenix.end_world': z.object({}),
} as const satisfies Record<ClientVerb, z.ZodType>;

export type ClientVerbResult<V extends ClientVerb> = z.infer<(typeof clientVerbResults)[V]>;
export type DeviceState = z.infer<typeof deviceState>;
export type DeviceVerbArgs = z.infer<typeof deviceVerb>;
export type GroupState = z.infer<typeof groupState>;

/** What the client asks fedconn: its user's answer to an offer (the `decide` of the reference). */
export const userDecideArgs = z.object({
  world,
  user_id: z.string(),
  sender_user_id: z.string(),
});
export const userDecideResult = z.object({ accept: z.boolean() });

export const helloResult = z.object({
  protocol: z.literal(CLIENT_PROTOCOL, { error: `must be ${CLIENT_PROTOCOL}` }),
  /** How reports name the client: product and version. */
  name: z.string().min(1),
  verbs: z.array(z.string()),
});
