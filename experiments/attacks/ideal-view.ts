// The ideal attacker of an indistinguishability game, as a measure: the ALIAS-UNLINK
// checks ask whether two worlds that differ only in who owns the aliases give the AS the
// same view; this asks it of up to `ideal_worlds` distinct ownerships at once, with
// everything the adversary sees. The attacker knows everything but which ownership is
// the real one, so it can compute each world's view; it groups the worlds by identical
// views (fresh random values renamed, simulator/net/canonical.ts) and guesses among those
// that look like the one it saw. Its anonymity set is that group, exactly: those worlds
// are indistinguishable to it. Chance is 1 / worlds.
//
// No attack on alias ownership can do better from the same views: where this one's
// anonymity set is every world, none can tell the ownerships apart.
import { canonicalise } from '../../simulator/net/canonical.ts';
import type { ServerView } from '../../simulator/net/observer.ts';
import { fork, seededRng } from '../../simulator/protocol/crypto/rng.ts';
import type { Flow } from '../world.ts';
import type { Attack, AttackInput, AttackOutput } from './index.ts';

/**
 * Everything the adversary saw as one canonical text, in the world's global order: each
 * event tagged with its server, the network observer's flows among them, so an order
 * between two colluding servers counts as much as the order at one.
 */
function canonical(seen: {
  readonly views: ReadonlyMap<string, ServerView>;
  readonly flows: readonly Flow[];
}): string {
  const events = [
    ...[...seen.views].flatMap(([server, view]) => view.events.map((e) => ({ server, ...e }))),
    ...seen.flows,
  ].sort((a, b) => a.seq - b.seq);
  return canonicalise(events).join('\n');
}

const draw = (coin: ReturnType<typeof seededRng>, n: number) =>
  Buffer.from(coin.bytes(6)).readUIntBE(0, 6) % n;

export const idealView = {
  name: 'ideal-view',
  description:
    'Computes what the adversary would see under each alias ownership compared (the world run and its twins), groups the ownerships by identical views (fresh random values renamed), and guesses among those whose view is the one it saw; the real ownership is drawn at random among them.',
  twins: true,
  run(input: AttackInput): AttackOutput {
    const twins = input.twins ?? [];
    if (twins.length === 0)
      throw new Error(
        'ideal-view: this world has no other alias ownership to compare (each homeserver needs two users with aliases, and connections must leave an ownership in which no initiator owns the alias it looks up)',
      );
    const worlds = [{ views: input.views, flows: input.flows }, ...twins].map(canonical);
    const coin = fork(seededRng(input.seed), 'ideal-view');
    // One game per world: the secret ownership drawn uniformly, then a guess among the
    // ownerships whose view is the one the secret gives. The games of different worlds are
    // independent, so their successes are independent trials.
    const real = draw(coin, worlds.length);
    const alike = worlds.flatMap((view, i) => (view === worlds[real] ? [i] : []));
    const guess = alike[draw(coin, alike.length)];
    return {
      guesses: [
        {
          subject: 'alias ownership',
          guess: `ownership ${guess ?? real}`,
          truth: `ownership ${real}`,
          candidates: worlds.length,
          anonymitySet: alike.length,
        },
      ],
    };
  },
} as const satisfies Attack;
