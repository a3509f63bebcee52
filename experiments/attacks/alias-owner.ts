// Linking an alias to its owner's user id from the order of requests at the alias's AS:
// every poll of an alias queue (signed with the alias's own key) is credited to the user
// whose own queue poll (signed with a client credential, naming the user) came shortly
// before it, closer weighing more. A client that polls its aliases right after its own
// queue gives its aliases away (mutant ALIAS-UNLINK-01/poll-aliases-with-own-queue); one
// that polls them apart, in an order independent of ownership, leaves the AS at chance.
import { fork, seededRng, type Rng } from '../../simulator/protocol/crypto/rng.ts';
import type { RecordedRequest } from '../../simulator/net/observer.ts';
import type { GroundTruth } from '../world.ts';
import type { Attack, AttackInput, AttackOutput, Guess } from './index.ts';
import { creditByPollOrder } from './poll-order.ts';

const ALIAS_QUEUE = /^\/_fedconn\/v1\/as\/aliases\/([^/]+)\/queue$/;

export const aliasOwnerByOrder = {
  name: 'alias-owner-by-order',
  description:
    "The AS credits each alias queue poll to the user whose own signed queue poll came last before it (weight 1 / distance in requests), and names the alias's owner as the user with the most credit.",
  run(input: AttackInput, truth: GroundTruth): AttackOutput {
    const guesses: Guess[] = [];
    const coin = fork(seededRng(input.seed), 'alias-owner-by-order');
    for (const service of input.services) {
      const [server, role] = service.split('/');
      if (role !== 'AS' || server === undefined) continue;
      const view = input.views.get(server);
      if (view === undefined) continue;
      const requests = view.events.filter((e): e is RecordedRequest => e.kind === 'request');
      const credit = creditByPollOrder(requests, (path) => {
        const named = ALIAS_QUEUE.exec(path)?.[1];
        return named === undefined ? undefined : decodeURIComponent(named);
      });
      const candidates = input.usersOn(server);
      for (const { alias, owner } of truth.aliases.filter((a) => a.server === server)) {
        const leaders = best(credit.get(alias), candidates);
        guesses.push({
          subject: alias,
          guess: leaders[below(coin, leaders.length)],
          truth: owner,
          candidates: candidates.length,
        });
      }
    }
    return { guesses };
  },
} as const satisfies Attack;

/**
 * The users with the most credit, or every candidate without evidence, among which a
 * fair coin picks. (Not an anonymity set: a heuristic's leaders can be confidently wrong,
 * as they are against the reference client.)
 */
function best(scores: ReadonlyMap<string, number> | undefined, candidates: readonly string[]) {
  const top = Math.max(0, ...(scores?.values() ?? []));
  return top === 0
    ? candidates
    : [...(scores ?? new Map<string, number>())].filter(([, s]) => s === top).map(([u]) => u);
}

/** A fair draw below n (0 for an empty list, whose pick is undefined). */
const below = (coin: Rng, n: number) =>
  n === 0 ? 0 : Buffer.from(coin.bytes(6)).readUIntBE(0, 6) % n;
