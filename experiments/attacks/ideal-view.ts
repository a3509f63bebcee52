// The ideal attacker of an indistinguishability game, as a measure: the ALIAS-UNLINK
// checks ask whether two worlds that differ only in who owns the aliases give the AS the
// same view; this asks it of `ideal_worlds` worlds at once, with every view the
// adversary holds. The attacker knows everything but which ownership is the real one,
// so it can compute each world's view; it groups the worlds by identical views (fresh
// random values renamed, simulator/net/canonical.ts) and guesses among those that look
// like the one it saw. Its anonymity set is that group (an exact one: those worlds are
// indistinguishable to it); chance is 1 / worlds.
//
// No attack can do better from the views alone: where this one is at chance, every
// attack on alias ownership is (given the same worlds).
import { canonicalise } from '../../simulator/net/canonical.ts';
import type { ServerView } from '../../simulator/net/observer.ts';
import { fork, seededRng } from '../../simulator/protocol/crypto/rng.ts';
import type { Attack, AttackInput, AttackOutput } from './index.ts';

/** All the adversary's views as one canonical text, servers in name order. */
const canonical = (views: ReadonlyMap<string, ServerView>): string =>
  canonicalise(
    [...views].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).flatMap(([, view]) => view.events),
  ).join('\n');

export const idealView = {
  name: 'ideal-view',
  description:
    'Computes the view of the world under every alias ownership compared (the one run and its twins), groups the worlds by identical views (fresh random values renamed) and guesses among those whose view is the one it saw.',
  twins: true,
  run(input: AttackInput): AttackOutput {
    const worlds = [input.views, ...(input.twins ?? [])].map(canonical);
    const coin = fork(seededRng(input.seed), 'ideal-view');
    // The game is played once with each world as the real one: the ownership is a secret
    // drawn uniformly among them, so this is the attacker's exact expectation over it.
    return {
      guesses: worlds.map((seen, real) => {
        const alike = worlds.flatMap((view, i) => (view === seen ? [i] : []));
        const pick = alike[Buffer.from(coin.bytes(6)).readUIntBE(0, 6) % alike.length];
        return {
          subject: `alias ownership ${real}`,
          guess: `world ${pick ?? real}`,
          truth: `world ${real}`,
          candidates: worlds.length,
          anonymitySet: alike.length,
        };
      }),
    };
  },
} as const satisfies Attack;
