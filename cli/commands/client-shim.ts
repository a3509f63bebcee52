// `fedconn client-shim`: fedconn's reference client as a client under test in a process
// of its own, speaking the client driver protocol on stdin and stdout
// (docs/client-driver.md). `fedconn run --client reference-shim` starts it; anyone may
// start it by hand to see the protocol at work.
import { findMutant } from '../../suites/mutants.ts';
import { runClientShim } from '../../simulator/clients/shim/shim.ts';
import { EXIT, UsageError, type Io } from '../io.ts';

export interface ClientShimOptions {
  /** A mutant of the reference client (`fedconn mutants --list`, client mutants only). */
  readonly mutant?: string;
}

export async function clientShimCommand(options: ClientShimOptions, io: Io): Promise<number> {
  const mutant = options.mutant === undefined ? undefined : findMutant(options.mutant);
  if (options.mutant !== undefined && mutant?.breaks !== 'client')
    throw new UsageError(
      `--mutant: "${options.mutant}" is not a mutant of the reference client; see \`fedconn mutants --list\``,
    );
  io.err(
    `fedconn client-shim: client driver protocol on stdin/stdout${mutant === undefined ? '' : `, mutant ${mutant.name}`}\n`,
  );
  await runClientShim({
    input: process.stdin,
    output: process.stdout,
    mutants: new Set(mutant === undefined ? [] : [mutant.name]),
  });
  return EXIT.ok;
}
