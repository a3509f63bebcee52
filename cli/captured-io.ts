// An Io that keeps what a command printed, for tests of the commands and the targets.
import type { Io } from './io.ts';

export function capturedIo(): Io & {
  /** What went to standard output. */
  stdout(): string;
  /** What went to standard error. */
  stderr(): string;
  /** Both, in the order they were printed. */
  text(): string;
} {
  let out = '';
  let err = '';
  let both = '';
  return {
    out: (t) => {
      out += t;
      both += t;
    },
    err: (t) => {
      err += t;
      both += t;
    },
    columns: undefined,
    stdout: () => out,
    stderr: () => err,
    text: () => both,
  };
}
