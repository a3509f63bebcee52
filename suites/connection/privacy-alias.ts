// Aliases that the AS cannot tie to users (ALIAS-UNLINK, AS and CLIENT roles) and
// encryption keys never shared between a user's identifiers (CONN-PKG-04). The
// unlinkability rules are indistinguishability games: two worlds from one seed
// that differ only in who owns an alias must give the AS the same view once fresh
// random values are renamed. The worlds run to the end, every client polling its
// queues, so the order in which queues are polled is part of what the AS sees.
import fc from 'fast-check';
import { checkProperty, defineCheck, expectThat, type CheckContext } from '../harness/check.ts';
import { rngFor } from './support.ts';
import {
  AS_PATH,
  anonymously,
  asView,
  canonicalise,
  contains,
  describeEvent,
  expectSameView,
  identifiersOf,
  isRequest,
  openWorld,
  searchable,
  userAt,
  type World,
} from './privacy-support.ts';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

/** `alias` in `world`: servers outlive worlds on a real target, so each world has its own. */
const inWorld = (world: World, alias: string) => `${world.instance.namespace}${alias}`;

/** Two alias names from the check's seed (short, so they are never renamed as random). */
function aliasNames(ctx: CheckContext, label: string): [string, string, string] {
  const tag = hex(rngFor(ctx, label).bytes(3));
  return [`anon-${tag}-a`, `anon-${tag}-b`, `anon-${tag}-c`];
}

/** Plays one world and returns the canonical view of the aliases' AS. */
async function play(
  ctx: CheckContext,
  seed: string,
  script: (world: World) => Promise<void>,
): Promise<string[]> {
  const world = await openWorld(ctx, seed, {
    profile: 'aliases',
    usersPerServer: 2,
    devicesPerUser: 1,
  });
  try {
    await anonymously(() => script(world));
    return canonicalise(asView(world.observer.view(world.servers[0])), {
      namespace: world.instance.namespace,
      // Real time differs from world to world; the simulator's is the worlds' own.
      times: ctx.target.kind === 'sim',
    });
  } finally {
    await world.instance.close();
  }
}

export const aliasesUnlinkedFromEachOther = defineCheck({
  name: 'the AS view is the same whether two aliases belong to one user or to two',
  rules: ['ALIAS-UNLINK-01'],
  profiles: ['aliases'],
  needs: ['observer', 'reference-client'],
  async run(ctx) {
    const names = aliasNames(ctx, 'alias-unlink-01');
    await checkProperty(
      ctx,
      [fc.integer({ min: 1, max: 3 }), fc.boolean()],
      async (payloads, discover) => {
        const seed = `${ctx.seed}/alias-unlink-01/${payloads}/${discover}`;
        // users 0 and 1 live on the aliases' server, users 2 and 3 on the other one.
        const script = (owners: readonly [number, number]) => async (world: World) => {
          const server = world.servers[0];
          const [a, b] = names.map((n) => inWorld(world, n));
          if (a === undefined || b === undefined) throw new Error('unreachable: two names');
          await userAt(world, owners[0]).primary.registerAlias(a, payloads);
          await userAt(world, owners[1]).primary.registerAlias(b, payloads);
          if (discover) {
            await userAt(world, 2).primary.connect({ alias: a, server });
            await userAt(world, 3).primary.connect({ alias: b, server });
          }
          // Every client polls its queues, alias queues included, until nothing changes.
          await world.population.settle();
        };
        const oneUser = await play(ctx, seed, script([0, 0]));
        const twoUsers = await play(ctx, seed, script([0, 1]));
        expectSameView(
          oneUser,
          twoUsers,
          'the AS can tell two aliases of one user from aliases of two users',
        );
      },
      { numRuns: 2 },
    );
  },
});

export const aliasUnlinkedFromUserId = defineCheck({
  name: 'the AS view is the same whether an alias belongs to a user id’s user or another',
  rules: ['ALIAS-UNLINK-02'],
  profiles: ['aliases'],
  needs: ['observer', 'reference-client'],
  async run(ctx) {
    const [name] = aliasNames(ctx, 'alias-unlink-02');
    await checkProperty(
      ctx,
      [fc.integer({ min: 1, max: 3 }), fc.boolean()],
      async (payloads, aliasFirst) => {
        const seed = `${ctx.seed}/alias-unlink-02/${payloads}/${aliasFirst}`;
        // User 0 is the user of the user id; the alias is user 0's or user 1's.
        const script = (owner: number) => async (world: World) => {
          const server = world.servers[0];
          const a = inWorld(world, name);
          const byUserId = () =>
            userAt(world, 2).primary.connect({ userId: userAt(world, 0).userId });
          if (!aliasFirst) await byUserId();
          await userAt(world, owner).primary.registerAlias(a, payloads);
          await userAt(world, 3).primary.connect({ alias: a, server });
          if (aliasFirst) await byUserId();
          // Every client polls its queues, alias queues included, until nothing changes.
          await world.population.settle();
        };
        const same = await play(ctx, seed, script(0));
        const other = await play(ctx, seed, script(1));
        expectSameView(
          same,
          other,
          'the AS can tell that an alias belongs to the user of a user id',
        );
      },
      { numRuns: 2 },
    );
  },
});

const ALIAS_REQUEST = /^\/_fedconn\/v1\/as\/aliases\/([^/]+)(\/.*)?$/;
const KEY_REF = /key="([^"]*)"/;

export const aliasRequestsUseAliasKeys = defineCheck({
  name: 'every alias request is authenticated with that alias’s own key, never a client’s',
  rules: ['ALIAS-UNLINK-03'],
  profiles: ['aliases'],
  needs: ['observer', 'reference-client'],
  async run(ctx) {
    const names = aliasNames(ctx, 'alias-unlink-03');
    const world = await openWorld(ctx, `${ctx.seed}/alias-unlink-03`, {
      profile: 'aliases',
      usersPerServer: 2,
      devicesPerUser: 1,
    });
    try {
      const server = world.servers[0];
      const [a, b, c] = names.map((n) => inWorld(world, n));
      if (a === undefined || b === undefined || c === undefined)
        throw new Error('unreachable: three names');
      await anonymously(async () => {
        await userAt(world, 0).primary.registerAlias(a, 2);
        await userAt(world, 0).primary.registerAlias(b, 2);
        await userAt(world, 1).primary.registerAlias(c, 1);
        await userAt(world, 2).primary.connect({ alias: a, server });
        await userAt(world, 3).primary.connect({ alias: b, server });
        await userAt(world, 2).primary.connect({ alias: c, server });
        await world.population.settle();
      });
      ctx.iterations(1);

      const identifiers = world.users.flatMap(identifiersOf);
      const clientKeys = new Set(
        world.users.flatMap((u) => u.clients.map((x) => x.credential.payload.verifying_key)),
      );
      const authKeys = new Map<string, string>();
      const requests = world.observer.view(server).events.filter(isRequest);
      let seen = 0;
      for (const e of requests) {
        const m = ALIAS_REQUEST.exec(e.path);
        if (m === null || !e.path.startsWith(AS_PATH)) continue;
        seen++;
        const alias = decodeURIComponent(m[1] ?? '');
        const authorization = e.headers.authorization;
        if (authorization !== undefined) {
          const ref = KEY_REF.exec(authorization)?.[1];
          expectThat(
            ref === `alias:${alias}`,
            `a request under alias ${alias} is authenticated with another key`,
            `no authorization, or Fedconn-Sig key="alias:${alias}"`,
            describeEvent(server, e),
          );
        }
        const found = contains(searchable(e, 'no-path'), identifiers);
        expectThat(
          found === undefined,
          `a request under alias ${alias} carries a user identifier`,
          'no user id, client id or client key',
          `${found ?? ''} in ${describeEvent(server, e)}`,
        );
        if (e.method === 'PUT' && m[2] === undefined) {
          const key = (e.body as { auth_key?: unknown } | null)?.auth_key;
          if (typeof key !== 'string') continue;
          expectThat(
            !clientKeys.has(key),
            `alias ${alias} is registered with a client's verifying key`,
            'an auth key of its own',
            describeEvent(server, e),
          );
          const other = [...authKeys].find(([, k]) => k === key)?.[0];
          expectThat(
            other === undefined,
            `aliases ${other ?? ''} and ${alias} share one auth key`,
            'a distinct auth key per alias',
            key,
          );
          authKeys.set(alias, key);
        }
      }
      expectThat(authKeys.size === 3, 'the AS view lacks alias registrations', 3, authKeys.size);
      expectThat(seen > 3, 'the AS view lacks alias requests', 'more than 3', seen);
    } finally {
      await world.instance.close();
    }
  },
});

interface PackageUpload {
  readonly connection_packages?: readonly { readonly payload?: { encryption_key?: unknown } }[];
  readonly payloads?: readonly { readonly encryption_key?: unknown }[];
}

export const encryptionKeysNeverReused = defineCheck({
  name: 'a user publishes a distinct encryption key under its user id and each alias',
  rules: ['CONN-PKG-04'],
  profiles: ['aliases'],
  needs: ['observer', 'reference-client'],
  async run(ctx) {
    await checkProperty(
      ctx,
      [fc.integer({ min: 2, max: 3 }), fc.integer({ min: 1, max: 3 })],
      async (aliasCount, payloads) => {
        const world = await openWorld(ctx, `${ctx.seed}/conn-pkg-04/${aliasCount}/${payloads}`, {
          profile: 'aliases',
          usersPerServer: 1,
          devicesPerUser: 1,
        });
        const names = aliasNames(ctx, `conn-pkg-04/${aliasCount}/${payloads}`)
          .slice(0, aliasCount)
          .map((n) => inWorld(world, n));
        try {
          const user = userAt(world, 0);
          await anonymously(async () => {
            for (const alias of names) await user.primary.registerAlias(alias, payloads);
          });
          const mine = (path: string, auth: string | undefined) =>
            (path === `${AS_PATH}connection_packages` &&
              auth?.includes(`key="client:${user.userId}/`) === true) ||
            names.some(
              (n) => path === `${AS_PATH}aliases/${encodeURIComponent(n)}/connection_packages`,
            );
          const keys: { key: string; where: string }[] = [];
          for (const e of world.observer.view(world.servers[0]).events.filter(isRequest)) {
            if (e.method !== 'POST' || !mine(e.path, e.headers.authorization)) continue;
            const body = e.body as PackageUpload;
            for (const p of body.connection_packages ?? [])
              keys.push({ key: String(p.payload?.encryption_key), where: e.path });
            for (const p of body.payloads ?? [])
              keys.push({ key: String(p.encryption_key), where: e.path });
          }
          expectThat(
            keys.length >= aliasCount * payloads + 1,
            'the AS view lacks the user’s uploads',
            `at least ${aliasCount * payloads + 1} keys`,
            keys.length,
          );
          const first = new Map<string, string>();
          for (const { key, where } of keys) {
            const before = first.get(key);
            expectThat(
              before === undefined,
              'one encryption key is published twice by the same user',
              'every key distinct',
              `${key} under ${before ?? ''} and ${where}`,
            );
            first.set(key, where);
          }
        } finally {
          await world.instance.close();
        }
      },
      { numRuns: 2 },
    );
  },
});
