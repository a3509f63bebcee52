// Starting a client under test by name (`fedconn run --client NAME`).
import type { ClientName, ClientUnderTest } from './index.ts';
import { matrixJsSdkClient } from './matrix-js-sdk.ts';
import { referenceClient } from './reference.ts';

/** The client, ready to be judged; `mutants` apply to the reference client only. */
export async function startClient(
  name: ClientName,
  mutants: ReadonlySet<string>,
): Promise<ClientUnderTest> {
  switch (name) {
    case 'reference':
      return referenceClient(mutants);
    case 'matrix-js-sdk':
      return matrixJsSdkClient();
  }
}

/** What the client is, for a plan made without starting it (`--list`). */
export function plannedClient(name: ClientName): ClientUnderTest {
  const close = () => Promise.resolve();
  switch (name) {
    case 'reference':
      return referenceClient(new Set());
    case 'matrix-js-sdk':
      // An identity client, never a Phoenix one; its lookups run only once started.
      return {
        name: 'matrix-js-sdk',
        phoenix: false,
        identity: { lookup: () => Promise.reject(new Error('not started')) },
        close,
      };
  }
}
