// Starting a client under test (`fedconn run --client NAME|FILE`).
import { fileURLToPath } from 'node:url';
import { readClientDriverConfig, startDrivenClient, type ClientDriverConfig } from './driven.ts';
import { isClientName, type ClientUnderTest } from './index.ts';
import { matrixJsSdkClient } from './matrix-js-sdk.ts';
import { referenceClient } from './reference.ts';

const BIN = fileURLToPath(new URL('../../../cli/bin.js', import.meta.url));

/** fedconn's own client in a process of its own, with the reference client's mutants. */
export function referenceShimConfig(mutants: ReadonlySet<string>): ClientDriverConfig {
  return {
    name: 'fedconn reference client (shim)',
    command: [
      process.execPath,
      BIN,
      'client-shim',
      ...[...mutants].flatMap((m) => ['--mutant', m]),
    ],
  };
}

/**
 * The client, ready to be judged: a name of CLIENT_NAMES or a client driver config file.
 * `clientMutants` (mutants of the reference client) apply to the reference only.
 */
export async function startClient(
  name: string,
  clientMutants: ReadonlySet<string>,
): Promise<ClientUnderTest> {
  if (!isClientName(name)) return startDrivenClient(readClientDriverConfig(name));
  switch (name) {
    case 'reference':
      return referenceClient(clientMutants);
    case 'reference-shim':
      return startDrivenClient(referenceShimConfig(clientMutants));
    case 'matrix-js-sdk':
      return matrixJsSdkClient();
  }
}

/** What the client is, for a plan made without starting it (`--list`). */
export function plannedClient(name: string): ClientUnderTest {
  const close = () => Promise.resolve();
  const notStarted = () => Promise.reject(new Error('not started'));
  if (!isClientName(name)) {
    // Known only once its hello answers: planned as a client of both kinds.
    readClientDriverConfig(name);
    return { name, phoenix: true, identity: { lookup: notStarted }, close };
  }
  switch (name) {
    case 'reference':
      return referenceClient(new Set());
    case 'reference-shim':
      return {
        name: 'fedconn reference client (shim)',
        phoenix: true,
        identity: { lookup: notStarted },
        close,
      };
    case 'matrix-js-sdk':
      // An identity client, never a Phoenix one; its lookups run only once started.
      return { name: 'matrix-js-sdk', phoenix: false, identity: { lookup: notStarted }, close };
  }
}
