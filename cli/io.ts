// Where the CLI writes. Injected so tests can run commands in-process.
export interface Io {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  /** Terminal width for tables; undefined when not a terminal. */
  readonly columns: number | undefined;
}

export const processIo: Io = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  columns: process.stdout.isTTY ? process.stdout.columns : undefined,
};

/** Exit codes shared by every command (see README). */
export const EXIT = {
  ok: 0,
  failures: 1,
  usage: 2,
  unreachable: 3,
} as const;

/** A usage or configuration error: reported in one line, exit code 2. */
export class UsageError extends Error {}
