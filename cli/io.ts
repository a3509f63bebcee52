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
  /** No rule got a verdict: everything selected was skipped or not applicable. */
  nothingChecked: 4,
} as const;

/** The exit codes, as `--help` shows them. */
export const EXIT_HELP = `
Exit codes:
  0  every MUST rule that got a verdict passed (or was expected to fail)
  1  failures: a MUST rule failed, errored or timed out, an xpass, or SHOULD failures with --strict
  2  usage or configuration error (the message names the option or field)
  3  the target cannot be reached
  4  no rule got a verdict: every selected rule was skipped or not applicable`;

/** A usage or configuration error: reported in one line, exit code 2. */
export class UsageError extends Error {}
