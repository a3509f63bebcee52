// fedconn's own reference client as the client under test: the Phoenix client of the
// simulator and the identity client of simulator/clients/identity-client.ts, with the
// mutants the run names (so the suite can be seen failing on a broken client).
import { lookup } from '../../../simulator/clients/identity-client.ts';
import type { ClientUnderTest } from './index.ts';

export function referenceClient(mutants: ReadonlySet<string>): ClientUnderTest {
  return {
    name: 'fedconn reference client',
    phoenix: true,
    identity: {
      async lookup({ transport, first, referrals, address, medium }) {
        const found = await lookup(
          { transport, resolve: (name) => referrals.get(name), mutants },
          first,
          address,
          medium,
        );
        return found.ok
          ? { ok: true, userId: found.value.userId }
          : { ok: false, error: `${found.error.kind}: ${found.error.detail}` };
      },
    },
    close: () => Promise.resolve(),
  };
}
