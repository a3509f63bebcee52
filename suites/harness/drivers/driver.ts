// A driver sets up test state on a server under test: users and tokens, bindings,
// peppers, pushes. It is chosen per server in the target config (fedconn's own
// provisioning API, per-server drivers for sydent and ToM, or a command the
// implementer writes), and every check reaches it through this one interface. A
// driver that cannot do what a check needs makes the check `skip` with the reason.
import { z } from 'zod';
import { CheckSkipped, SetupFailed } from '../check.ts';
import type { DriverKind } from '../../../simulator/serve/target-config.ts';
import type { MatrixRooms } from './matrix-cs.ts';

const empty = z.looseObject({});
const token = z.looseObject({ token: z.string().min(1) });

/** Every verb, with the schema of its result (a command driver's answers are validated). */
export const VERBS = {
  /** An access token for `user_id` at this identity service. */
  'identity.token': token,
  /** An access token that stops being valid `expires_in_ms` from now. */
  'identity.expiring_token': token,
  /** Binds `address` of `medium` to `user_id`, as a validated 3PID association. */
  'identity.bind': empty,
  /** Replaces the lookup pepper; the old one stays accepted as an alternative (MSC4004). */
  'identity.rotate_pepper': empty,
  /** Stops accepting `pepper` at all. */
  'identity.retire_pepper': empty,
  /** Makes this server push the hashes of its bindings `addresses` to `destination` (MSC4004). */
  'identity.push': z.looseObject({ status: z.number().int().optional(), report: z.unknown() }),
  /** Makes this server sign and send `content` as a push to `destination`, exactly as given. */
  'identity.push_raw': z.looseObject({ status: z.number().int().optional(), report: z.unknown() }),
  /** Rotates the server's federation signing key: a new current key, the old one retired. */
  'keys.rotate': empty,
  /** Revokes the credential with this fingerprint at the server's AS (a client's or an intermediate). */
  'as.revoke': empty,
} as const;

export type Verb = keyof typeof VERBS;
export const VERB_NAMES = Object.keys(VERBS) as Verb[];

export interface VerbArgs {
  'identity.token': { readonly user_id: string };
  'identity.expiring_token': { readonly user_id: string; readonly expires_in_ms: number };
  'identity.bind': { readonly medium: string; readonly address: string; readonly user_id: string };
  'identity.rotate_pepper': Record<string, never>;
  'identity.retire_pepper': { readonly pepper: string };
  'identity.push': {
    readonly destination: string;
    readonly addresses: readonly { readonly address: string; readonly medium: string }[];
    readonly pepper?: string;
  };
  'identity.push_raw': {
    readonly destination: string;
    readonly content: Readonly<Record<string, unknown>>;
  };
  'keys.rotate': Record<string, never>;
  'as.revoke': { readonly fingerprint: string };
}
export type VerbResult<V extends Verb> = z.output<(typeof VERBS)[V]>;

export interface Driver {
  readonly kind: DriverKind;
  /**
   * Room operations through the server's own Client-Server API (the matrix-cs driver);
   * absent where the server is set up otherwise (fedconn's provisioning API has its own).
   */
  readonly rooms?: MatrixRooms;
  /** The verbs this driver can perform (a command driver says so when it starts). */
  verbs(): Promise<ReadonlySet<Verb>>;
  /** Performs `verb`; throws DriverUnsupported or DriverFailed. */
  call<V extends Verb>(verb: V, args: VerbArgs[V], signal?: AbortSignal): Promise<VerbResult<V>>;
  /** Lets go of what the driver holds (a child process); safe to call twice. */
  close(): Promise<void>;
}

/** The driver has no way to do this: the check cannot be judged here, so it skips. */
export class DriverUnsupported extends CheckSkipped {
  constructor(kind: DriverKind, verb: Verb, hint: string) {
    super(`the ${kind} driver cannot ${verb}: ${hint}`);
    this.name = 'DriverUnsupported';
  }
}

/** The driver tried and failed: a setup error (`error`), not a verdict on the server. */
export class DriverFailed extends SetupFailed {
  constructor(
    readonly kind: DriverKind,
    readonly verb: Verb | 'hello' | 'rooms',
    detail: string,
  ) {
    super(`driver ${kind}: ${verb} failed: ${detail}`);
    this.name = 'DriverFailed';
  }
}

/** What a user of each driver can do about a verb it lacks. */
export const HOW_TO_ADD = {
  fedconn: 'the server does not implement this part of fedconn’s provisioning API',
  sydent: 'sydent offers no way to do this from the outside',
  tom: 'ToM offers no way to do this from the outside',
  'matrix-cs': 'a Matrix homeserver’s Client-Server API has no way to do this',
  command: 'add the verb to your command driver (docs/drivers.md)',
} as const satisfies Record<DriverKind, string>;

/** Validates a result against its verb's schema, naming what was wrong. */
export function parseResult<V extends Verb>(
  kind: DriverKind,
  verb: V,
  value: unknown,
): VerbResult<V> {
  const parsed = VERBS[verb].safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue === undefined || issue.path.length === 0 ? 'result' : issue.path.join('.');
    throw new DriverFailed(
      kind,
      verb,
      `answered ${JSON.stringify(value)}: ${where}: ${issue?.message ?? 'invalid'}`,
    );
  }
  return parsed.data as VerbResult<V>;
}
