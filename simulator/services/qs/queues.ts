// The QS's queues, shared in-process between the QS router (clients fetch) and
// the DS of the same homeserver (fan-out). Queues are created anonymously with
// their own auth key, so the QS cannot tie them to an AS identity (CONN-PRIV-04).
import { encodeUnpaddedBase64Url } from '../../protocol/encoding/base64.ts';
import { fork } from '../../protocol/crypto/rng.ts';
import type { HomeserverContext } from '../../homeserver/context.ts';
import { Table } from '../../net/store.ts';

/** Where a client's queue lives: the QS of `server`, queue `queue_id`. */
export interface QueueRef {
  readonly server: string;
  readonly queue_id: string;
}

/** What the DS puts into queues. */
export type QueueMessage =
  | {
      readonly kind: 'welcome_bundle';
      readonly group_id: string;
      readonly welcome: string;
      readonly ratchet_tree: string;
      readonly credential_infos: readonly string[];
      /** HPKE-sealed EAR keys, to the init key of the KeyPackage the Welcome is for. */
      readonly encrypted_joiner_info: string;
    }
  | {
      readonly kind: 'commit';
      readonly group_id: string;
      readonly commit: string;
      readonly credential_infos: readonly string[];
    }
  | { readonly kind: 'application'; readonly group_id: string; readonly message: string };

export interface StoredMessage {
  readonly seq: number;
  readonly message: QueueMessage;
}

export interface QueueRow {
  readonly auth_key: string;
  readonly next: number;
  readonly messages: readonly StoredMessage[];
}

export interface KeyPackageRow {
  readonly queue_id: string;
  readonly friendship_token: string;
  readonly key_package: string;
  readonly encrypted_info: string;
}

export interface QueueStore {
  readonly queues: Table<QueueRow>;
  readonly keyPackages: Table<KeyPackageRow>;
  createQueue(authKey: string): string;
  /** Appends to a local queue; false when the queue does not exist. */
  enqueue(queueId: string, message: QueueMessage): boolean;
}

const stores = new WeakMap<HomeserverContext, QueueStore>();

export function queueStore(ctx: HomeserverContext): QueueStore {
  const existing = stores.get(ctx);
  if (existing !== undefined) return existing;
  const rng = fork(ctx.rng, 'qs queue ids');
  const queues = new Table<QueueRow>('qs_queues', ctx.recorder);
  const keyPackages = new Table<KeyPackageRow>('qs_key_packages', ctx.recorder).index(
    'queue',
    (row) => row.queue_id,
  );
  const store: QueueStore = {
    queues,
    keyPackages,
    createQueue(authKey) {
      const id = encodeUnpaddedBase64Url(rng.bytes(16));
      queues.put(id, { auth_key: authKey, next: 0, messages: [] });
      return id;
    },
    enqueue(queueId, message) {
      const queue = queues.get(queueId);
      if (queue === undefined) return false;
      queues.put(queueId, {
        ...queue,
        next: queue.next + 1,
        messages: [...queue.messages, { seq: queue.next, message }],
      });
      return true;
    },
  };
  stores.set(ctx, store);
  return store;
}
