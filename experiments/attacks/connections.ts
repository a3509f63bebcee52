// Inferring who is connected to whom from the services' activity, in two steps.
//
// 1. Queues to users. A device processes its queues by polling its own AS queue (signed
//    with its client credential, which names the user) and then its QS queue (signed with
//    the queue's key, which names no one). An adversary holding a homeserver's AS and QS
//    credits each QS queue poll to the user whose own AS poll came last before it (weight
//    1 / distance in requests) and names the queue's owner as the user with the most
//    credit, when one user leads.
// 2. Groups to queues. The DS learns every member queue of a group from the requests
//    that create, join, commit to and send in it (`queue`, `sender_queue`, `added`); the
//    QS learns which groups a queue is in from the group id each queued message carries
//    (federated enqueues, and the queue rows).
//
// 3. Signed deliveries. A ConnectionEstablishmentPackage delivered to a user's queue at
//    the AS names its recipient in the path; the initiator's stays unnamed, unless the
//    request is signed with its client credential (mutant
//    CONN-PRIV-01/sign-delivery-with-client-key), which links the two at once.
//
// Every group whose queues name two users or more gives a link between each two of
// them. The DS alone names no one; add the AS and QS of the members' homeservers and it
// names both ends of every connection it holds.
import type { RecordedEvent, RecordedRequest } from '../../simulator/net/observer.ts';
import type { Attack, AttackInput, AttackOutput, Link } from './index.ts';
import { CLIENT_KEY, creditByPollOrder } from './poll-order.ts';

const QS_POLL = /^\/_fedconn\/v1\/qs\/queues\/([^/]+)\/messages$/;
const DS_GROUP =
  /^\/_fedconn\/v1\/ds\/groups(?:\/([^/]+)\/(join_connection_group|commit|messages))?$/;
const ENQUEUE = '/_fedconn/v1/qs/federation/enqueue';
const USER_DELIVERY = /^\/_fedconn\/v1\/as\/clients\/([^/]+)\/[^/]+\/queue$/;

/** A queue, named as the DS names it: its homeserver and its id there. */
const ref = (server: unknown, queueId: unknown) =>
  typeof server === 'string' && typeof queueId === 'string' ? `${server} ${queueId}` : undefined;

const refOf = (q: unknown) => {
  const r = q as { server?: unknown; queue_id?: unknown } | null | undefined;
  return ref(r?.server, r?.queue_id);
};

/** The owner of each queue the adversary's AS and QS saw polled together. */
function queueOwners(server: string, requests: readonly RecordedRequest[]): Map<string, string> {
  const credit = creditByPollOrder(requests, (path) => {
    const queue = QS_POLL.exec(path)?.[1];
    return queue === undefined ? undefined : ref(server, decodeURIComponent(queue));
  });
  const owners = new Map<string, string>();
  for (const [queue, scores] of credit) {
    const top = Math.max(...scores.values());
    const leaders = [...scores].filter(([, s]) => s === top);
    if (leaders.length === 1 && leaders[0] !== undefined) owners.set(queue, leaders[0][0]);
  }
  return owners;
}

/** The member queues of each group, from what the DS and the QS of `server` saw. */
function groupQueues(
  server: string,
  events: readonly RecordedEvent[],
  into: Map<string, Set<string>>,
): void {
  const add = (group: unknown, queue: string | undefined) => {
    if (typeof group !== 'string' || queue === undefined) return;
    const members = into.get(group) ?? new Set<string>();
    members.add(queue);
    into.set(group, members);
  };
  for (const e of events) {
    if (e.kind === 'row') {
      if (e.table !== 'qs_queues') continue;
      const messages = (
        e.value as { messages?: { message?: { group_id?: unknown } }[] } | undefined
      )?.messages;
      for (const m of messages ?? []) add(m.message?.group_id, ref(server, e.key));
      continue;
    }
    if (e.method !== 'POST' && e.method !== 'PUT') continue;
    const body = (e.body ?? {}) as Record<string, unknown>;
    if (e.path === ENQUEUE) {
      const message = body.message as { group_id?: unknown } | undefined;
      add(message?.group_id, ref(server, body.queue_id));
      continue;
    }
    const ds = DS_GROUP.exec(e.path);
    if (ds === null) continue;
    // The group id: in the body at creation, in the path after.
    const group = ds[1] === undefined ? body.group_id : decodeURIComponent(ds[1]);
    add(group, refOf(body.queue));
    add(group, refOf(body.sender_queue));
    for (const a of Array.isArray(body.added) ? (body.added as { queue?: unknown }[]) : [])
      add(group, refOf(a.queue));
  }
}

export const connectionsByActivity = {
  name: 'connections-by-activity',
  description:
    "Names each queue's owner from the AS poll that came last before its QS poll, learns each group's member queues from the DS's requests and the group ids in the QS's queued messages, and links every two users whose queues share a group.",
  run(input: AttackInput): AttackOutput {
    const owners = new Map<string, string>();
    const groups = new Map<string, Set<string>>();
    for (const [server, view] of input.views) {
      const requests = view.events.filter((e): e is RecordedRequest => e.kind === 'request');
      for (const [queue, user] of queueOwners(server, requests)) owners.set(queue, user);
      groupQueues(server, view.events, groups);
    }
    const links = new Map<string, Link>();
    const linkAll = (users: readonly string[]) => {
      const sorted = [...new Set(users)].sort();
      for (let i = 0; i < sorted.length; i++)
        for (let j = i + 1; j < sorted.length; j++) {
          const link = [sorted[i], sorted[j]] as unknown as Link;
          links.set(link.join('\n'), link);
        }
    };
    for (const queues of groups.values()) linkAll([...queues].flatMap((q) => owners.get(q) ?? []));
    for (const view of input.views.values())
      for (const e of view.events) {
        if (e.kind !== 'request' || e.method !== 'POST') continue;
        const recipient = USER_DELIVERY.exec(e.path)?.[1];
        const sender = CLIENT_KEY.exec(e.headers.authorization ?? '')?.[1];
        if (recipient !== undefined && sender !== undefined)
          linkAll([decodeURIComponent(recipient), sender]);
      }
    return { links: [...links.values()] };
  },
} as const satisfies Attack;
