// Sending accepted events to the other servers in a room, one transaction per
// server (PUT /_matrix/federation/v1/send/{txnId}), in a stable order. A server that
// cannot be reached or refuses does not undo the event: the outcome is kept in the
// outbox table, where a scenario (or a researcher) can see who was told what.
import { fork, type Rng } from '../../protocol/crypto/rng.ts';
import { encodeUnpaddedBase64Url } from '../../protocol/encoding/base64.ts';
import type { HomeserverContext } from '../../homeserver/context.ts';
import { federationRequest } from '../../federation/client.ts';
import { Table } from '../../net/store.ts';
import { eventId, type Pdu } from './events.ts';
import type { RoomRow, RoomStore } from './store.ts';
import { sendPath } from './wire.ts';

export interface OutboxRow {
  readonly destination: string;
  readonly event_ids: readonly string[];
  /** HTTP status, or 'unreachable'. */
  readonly outcome: number | 'unreachable';
}

interface Outbox {
  readonly table: Table<OutboxRow>;
  readonly txnIds: Rng;
}

const outboxes = new WeakMap<HomeserverContext, Outbox>();

function outbox(ctx: HomeserverContext): Outbox {
  let box = outboxes.get(ctx);
  if (box === undefined) {
    box = {
      table: new Table('federation_outbox', ctx.recorder),
      txnIds: fork(ctx.rng, 'rooms transaction ids'),
    };
    outboxes.set(ctx, box);
  }
  return box;
}

/** Sends `events` to every server in `room` except this one and `exclude`. */
export async function distribute(
  ctx: HomeserverContext,
  store: RoomStore,
  room: RoomRow,
  events: readonly Pdu[],
  exclude: ReadonlySet<string> = new Set(),
): Promise<void> {
  const box = outbox(ctx);
  const destinations = store
    .serversInRoom(room)
    .filter((s) => s !== ctx.config.serverName && !exclude.has(s));
  for (const destination of destinations) {
    const txnId = encodeUnpaddedBase64Url(box.txnIds.bytes(12));
    let outcome: OutboxRow['outcome'];
    try {
      const response = await federationRequest(ctx, destination, 'PUT', sendPath(txnId), {
        origin: ctx.config.serverName,
        origin_server_ts: ctx.clock.now(),
        pdus: events,
      });
      await response.body?.cancel();
      outcome = response.status;
    } catch {
      outcome = 'unreachable';
    }
    box.table.put(txnId, { destination, event_ids: events.map(eventId), outcome });
  }
}
