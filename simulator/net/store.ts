// Server storage that reports every write to the observer. Values are kept as
// given (callers store immutable values) and recorded in plain JSON form.
import { recordable, type ServerRecorder } from './observer.ts';

export class Table<V> {
  readonly #rows = new Map<string, V>();

  constructor(
    readonly name: string,
    private readonly recorder: ServerRecorder,
  ) {}

  get(key: string): V | undefined {
    return this.#rows.get(key);
  }

  has(key: string): boolean {
    return this.#rows.has(key);
  }

  put(key: string, value: V): void {
    this.#rows.set(key, value);
    this.recorder.row({ table: this.name, op: 'put', key, value: recordable(value) });
  }

  delete(key: string): boolean {
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
