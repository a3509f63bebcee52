// Server storage that reports every write to the observer. Values are kept as
// given (callers store immutable values) and recorded in plain JSON form.
import { recordable, type ServerRecorder } from './observer.ts';

interface Index<V> {
  readonly by: (value: V) => string;
  readonly groups: Map<string, Set<string>>;
}

export class Table<V> {
  readonly #rows = new Map<string, V>();
  readonly #indexes = new Map<string, Index<V>>();

  constructor(
    readonly name: string,
    private readonly recorder: ServerRecorder,
  ) {}

  /**
   * Keeps the keys of the rows grouped by `by(row)`, so `where(name, value)` finds them
   * without scanning every row: services look rows up by owner, user or queue, and a scan
   * per lookup made registration and discovery grow with the square of the population.
   * `by` of a stored row must not change when it is put again.
   */
  index(name: string, by: (value: V) => string): this {
    const index: Index<V> = { by, groups: new Map() };
    for (const [key, value] of this.#rows) group(index, by(value)).add(key);
    this.#indexes.set(name, index);
    return this;
  }

  /** The rows whose `by` of index `name` is `value`, in the table's order (insertion). */
  where(name: string, value: string): [string, V][] {
    const index = this.#indexes.get(name);
    if (index === undefined) throw new Error(`table ${this.name} has no index ${name}`);
    return [...(index.groups.get(value) ?? [])].map((key) => [key, this.#rows.get(key) as V]);
  }

  get(key: string): V | undefined {
    return this.#rows.get(key);
  }

  has(key: string): boolean {
    return this.#rows.has(key);
  }

  put(key: string, value: V): void {
    const before = this.#rows.get(key);
    for (const index of this.#indexes.values()) {
      const grouped = index.by(value);
      if (before !== undefined && index.by(before) !== grouped)
        throw new Error(`table ${this.name}: row ${key} would move between index groups`);
      group(index, grouped).add(key);
    }
    this.#rows.set(key, value);
    if (this.recorder.recording)
      this.recorder.row({ table: this.name, op: 'put', key, value: recordable(value) });
  }

  delete(key: string): boolean {
    const before = this.#rows.get(key);
    if (before !== undefined)
      for (const index of this.#indexes.values()) {
        const value = index.by(before);
        const keys = index.groups.get(value);
        keys?.delete(key);
        if (keys?.size === 0) index.groups.delete(value);
      }
    const existed = this.#rows.delete(key);
    if (existed) this.recorder.row({ table: this.name, op: 'delete', key });
    return existed;
  }

  values(): V[] {
    return [...this.#rows.values()];
  }

  entries(): [string, V][] {
    return [...this.#rows.entries()];
  }

  get size(): number {
    return this.#rows.size;
  }
}

function group<V>(index: Index<V>, value: string): Set<string> {
  let keys = index.groups.get(value);
  if (keys === undefined) {
    keys = new Set();
    index.groups.set(value, keys);
  }
  return keys;
}
