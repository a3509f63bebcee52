// A researcher's own attack, named in an experiment file by its path
// (attacks: [./first-candidate.ts]): it always names the first user of the alias's
// homeserver as the owner. It learns nothing from the view, so its advantage is 0 by
// construction: a baseline to set the built-in attacks against, and a template.
import type { Attack } from '../../experiments/attacks/index.ts';

export const attack: Attack = {
  name: 'first-candidate',
  description: "Names the alias's homeserver's first user as its owner, whatever the view.",
  run(input, truth) {
    return truth.aliases
      .filter((a) => input.services.includes(`${a.server}/AS`))
      .map((a) => {
        const candidates = input.usersOn(a.server);
        return {
          subject: a.alias,
          guess: candidates[0],
          truth: a.owner,
          candidates: candidates.length,
        };
      });
  },
};
