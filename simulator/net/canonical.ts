// Views made comparable across worlds: two worlds from one seed draw different fresh
// random values (keys, queue ids, tokens) wherever their scripts differ, so a view is
// compared once every random-looking token is renamed in order of first appearance.
// The unlinkability checks (ALIAS-UNLINK) and the experiments' ideal attacker use it.
import type { RecordedEvent } from './observer.ts';

/** Numbers above this (2001-09-09 in ms) are read as times when times are not compared. */
const EPOCH_MS_FROM = 1e12;
/** The same times written out in text (a request signature's ts="..."). */
const EPOCH_MS_TEXT = /(?<![0-9A-Za-z+/_-])[1-9][0-9]{12}(?![0-9A-Za-z+/_-])/g;
const TOKEN = /[A-Za-z0-9+/=_-]{16,}/g;
// Mixed case alone marks a random token: a base64 id lacks a digit now and then (a
// 22-character queue id about once in 40), and requiring one left such ids unrenamed,
// so two worlds alike but for them compared as different. The protocol's own words at
// this length are snake_case or lower-case.
const looksRandom = (t: string) =>
  (/[A-Z]/.test(t) && /[a-z]/.test(t)) || /^[0-9a-f]{16,}$/.test(t);

/**
 * Each event as JSON with every random-looking token (base64, base64url, hex of 16
 * characters or more) replaced by `#n`, n its index in order of first appearance;
 * global sequence numbers are dropped (the order of the list is kept).
 */
export function canonicalise(
  events: readonly (RecordedEvent | { readonly seq: number })[],
  options: {
    /** The world's name prefix on shared servers (TargetInstance.namespace), renamed `<ns>`. */
    readonly namespace?: string;
    /**
     * Whether times are kept: virtual times compare across worlds, real ones do not (then
     * `at` is dropped and every time in a body reads `<time>`).
     */
    readonly times?: boolean;
  } = {},
): string[] {
  const names = new Map<string, string>();
  const rename = (t: string) => {
    if (!looksRandom(t)) return t;
    let name = names.get(t);
    if (name === undefined) {
      name = `#${names.size}`;
      names.set(t, name);
    }
    return name;
  };
  const ns = options.namespace ?? '';
  const times = (s: string) => (options.times === false ? s.replace(EPOCH_MS_TEXT, '<time>') : s);
  const text = (s: string) =>
    times(ns === '' ? s : s.split(ns).join('<ns>')).replace(TOKEN, rename);
  // A path is renamed segment by segment, so that its fixed parts stay readable.
  const path = (s: string) =>
    s
      .split('/')
      .map((seg) => text(seg))
      .join('/');
  const walk = (v: unknown, key = ''): unknown => {
    if (typeof v === 'string') return key === 'path' ? path(v) : text(v);
    // Real clocks differ between two worlds: a time (ms since the epoch) is only a time.
    if (options.times === false && typeof v === 'number' && v > EPOCH_MS_FROM) return '<time>';
    if (Array.isArray(v)) return v.map((x) => walk(x));
    if (v !== null && typeof v === 'object')
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [text(k), walk(x, k)]));
    return v;
  };
  return events.map((e) => {
    const rest: Record<string, unknown> = { ...e };
    delete rest.seq;
    if (options.times === false) delete rest.at;
    return JSON.stringify(walk(rest));
  });
}
