// Signatures over the wrong set of fields. A signature must cover every field of what
// it signs: a signer or verifier that forgot one lets anyone change that field of a
// validly signed object. From outside this shows only when the right key signs the
// wrong field set: a field left out, an extra field, a field renamed. The checks send
// such objects (the object itself whole) and expect them refused; the mutants of the
// reference that leave one field out of what they verify accept the first kind.
//
// Fields are named by path: `payload.lifetime` is the lifetime inside the payload.

/** One way to sign the wrong fields: `omit <path>`, `rename <path>` (to `<name>_`) or `extra`. */
export type Narrowing = `omit ${string}` | `rename ${string}` | 'extra';

/** Every narrowing of these fields: each left out, each renamed, and one extra field. */
export function narrowingsOf(paths: readonly string[]): Narrowing[] {
  return [
    ...paths.map((p): Narrowing => `omit ${p}`),
    ...paths.map((p): Narrowing => `rename ${p}`),
    'extra',
  ];
}

type Json = Readonly<Record<string, unknown>>;

const isObject = (value: unknown): value is Json =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** `content` with the object at `path` replaced by `change(it)`. */
function at(
  content: Json,
  path: readonly string[],
  change: (parent: Json, key: string) => Json,
): Json {
  const [head, ...rest] = path;
  if (head === undefined) throw new Error('empty field path');
  if (rest.length === 0) return change(content, head);
  const inner = content[head];
  if (!isObject(inner)) throw new Error(`no object at ${head}`);
  return { ...content, [head]: at(inner, rest, change) };
}

/** The content the right key signs instead of `content`. */
export function narrowed(content: Json, narrowing: Narrowing): Record<string, unknown> {
  if (narrowing === 'extra') return { ...content, fedconn_extra: 'not in the object' };
  const space = narrowing.indexOf(' ');
  const kind = narrowing.slice(0, space);
  const path = narrowing.slice(space + 1).split('.');
  return at(content, path, (parent, key) => {
    if (!(key in parent)) throw new Error(`narrowing ${narrowing}: no field ${key}`);
    const { [key]: value, ...rest } = parent;
    return kind === 'omit' ? rest : { ...rest, [`${key}_`]: value };
  });
}

/** `content` without the field at `path`: what a verifier that forgot it checks (mutants). */
export function without(content: unknown, path: string): unknown {
  if (!isObject(content)) return content;
  try {
    return narrowed(content, `omit ${path}`);
  } catch {
    return content; // no such field: nothing was forgotten
  }
}
