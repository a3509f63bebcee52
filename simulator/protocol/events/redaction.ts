// The redaction algorithm of room version 10 (server-server API § "Redactions",
// room versions 1-10 with the v6, v8 and v9 changes; v11 changed it again). Redaction
// keeps the fields auth and signing depend on and drops the rest, so an event's
// signatures and reference hash survive a redaction: both are computed over this form.

type JsonRecord = Readonly<Record<string, unknown>>;

/** Top-level keys a redaction keeps (v1 list; unchanged up to v10). */
const KEPT_KEYS: ReadonlySet<string> = new Set([
  'event_id',
  'type',
  'room_id',
  'sender',
  'state_key',
  'content',
  'hashes',
  'signatures',
  'depth',
  'prev_events',
  'prev_state',
  'auth_events',
  'origin',
  'origin_server_ts',
  'membership',
]);

/**
 * Content keys kept per event type. v6 dropped m.room.aliases, v8 added join_rules
 * `allow`, v9 added member `join_authorised_via_users_server`.
 */
const KEPT_CONTENT: Readonly<Record<string, readonly string[]>> = {
  'm.room.member': ['membership', 'join_authorised_via_users_server'],
  'm.room.create': ['creator'],
  'm.room.join_rules': ['join_rule', 'allow'],
  'm.room.power_levels': [
    'ban',
    'events',
    'events_default',
    'kick',
    'redact',
    'state_default',
    'users',
    'users_default',
  ],
  'm.room.history_visibility': ['history_visibility'],
};

const isRecord = (value: unknown): value is JsonRecord =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The redacted form of `event` under room version 10. The input is not changed. */
export function redactEvent(event: JsonRecord): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(event)) {
    if (KEPT_KEYS.has(key)) out[key] = value;
  }
  const type = typeof event.type === 'string' ? event.type : '';
  const keep = Object.hasOwn(KEPT_CONTENT, type) ? (KEPT_CONTENT[type] ?? []) : [];
  const content: Record<string, unknown> = {};
  if (isRecord(event.content)) {
    for (const key of keep) {
      if (Object.hasOwn(event.content, key)) content[key] = event.content[key];
    }
  }
  // Every redacted event has a content object, even one that had none.
  out.content = content;
  return out;
}
