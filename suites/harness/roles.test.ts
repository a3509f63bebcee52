// Which checks apply to a target, by the roles its servers declare: real checks of the
// registry, found by rule ID, against IS-only, Phoenix-only and client/no-client
// targets. A check that does not apply is n/a with a reason that says what to declare.
import { describe, expect, test } from 'vitest';
import { getRule, type RuleId } from '../catalog/index.ts';
import { CHECKS } from '../registry.ts';
import { ALL_SERVICES } from '../../simulator/services/index.ts';
import type { ServerRoles, TargetConfig } from '../../simulator/serve/target-config.ts';
import type { Check } from './check.ts';
import { applicability, exercisedBy, implementsRole, type TargetRoles } from './roles.ts';
import { planOf } from './runner.ts';
import { httpTarget, simTarget } from './target.ts';

/** The one check of the registry that proves `id`. */
function checkOf(id: RuleId): Check {
  const found = CHECKS.filter((c) => c.rules.includes(id));
  if (found.length !== 1) throw new Error(`expected one check of ${id}, found ${found.length}`);
  const [check] = found;
  if (check === undefined) throw new Error(id);
  return check;
}

const checksOfFamily = (family: string): Check[] =>
  CHECKS.filter((c) => c.rules.some((id) => getRule(id).family === family));

const checksOfFamilies = (prefix: string): Check[] =>
  CHECKS.filter((c) => c.rules.some((id) => getRule(id).family.startsWith(prefix)));

const identityRoles = (msc4004: boolean): ServerRoles => ({
  identity: { msc4004, trusts: [], trusted_addresses: [] },
});

const target = (roles: ServerRoles, client = false): TargetRoles => ({
  servers: [{ serverName: 'is.example', roles }],
  client,
});

/** Every (check, profile) pair the check runs in. */
const executions = (checks: readonly Check[]) =>
  checks.flatMap((check) => check.profiles.map((profile) => ({ check, profile })));

/** A check that exercises only CLIENT (its rules bind only it, or it names only it). */
const clientOnly = (c: Check) => exercisedBy(c).roles.join() === 'CLIENT';

describe('an identity service without MSC4004', () => {
  const is = target(identityRoles(false));

  test('every IS-LOOKUP check with a server role applies, on that server', () => {
    const lookups = checksOfFamily('IS-LOOKUP').filter((c) => !clientOnly(c));
    expect(lookups.length).toBeGreaterThanOrEqual(9);
    for (const { check, profile } of executions(lookups)) {
      expect(applicability(is, exercisedBy(check), profile), check.name).toEqual({
        applies: true,
        servers: ['is.example'],
      });
    }
  });

  test('IS-LOOKUP-10 (CLIENT only) does not apply where the client is not under test', () => {
    const a = applicability(is, exercisedBy(checkOf('IS-LOOKUP-10')), 'matrix-current');
    expect(a.applies).toBe(false);
    if (!a.applies) expect(a.reason).toMatch(/a client under test/);
  });

  test.each(['IS-FED', 'IS-PUSH'])(
    'no %s check applies, and the reason says to declare MSC4004',
    (family) => {
      const checks = checksOfFamily(family).filter((c) => !clientOnly(c));
      expect(checks.length).toBeGreaterThanOrEqual(3);
      for (const { check, profile } of executions(checks)) {
        const a = applicability(is, exercisedBy(check), profile);
        expect(a.applies, check.name).toBe(false);
        if (!a.applies)
          expect(a.reason).toBe(
            'no server of the target implements an identity service with MSC4004 (roles.identity.msc4004 true)',
          );
      }
    },
  );

  test('no connection (Phoenix) check applies; reasons name the Phoenix role, profile and field, or the client', () => {
    const checks = checksOfFamilies('CONN').concat(
      checksOfFamilies('CRED'),
      checksOfFamilies('ALIAS'),
    );
    expect(checks.length).toBeGreaterThan(20);
    for (const { check, profile } of executions(checks)) {
      const a = applicability(is, exercisedBy(check), profile);
      expect(a.applies, `${check.name} (${profile})`).toBe(false);
      if (!a.applies)
        expect(a.reason).toMatch(
          new RegExp(
            `Phoenix (AS|QS|DS) in profile ${profile} \\(roles\\.phoenix\\.profile "${profile}"\\)|a client under test`,
          ),
        );
    }
    const disc = applicability(is, exercisedBy(checkOf('CONN-DISC-01')), 'aliases');
    expect(disc).toEqual({
      applies: false,
      reason:
        'no server of the target implements Phoenix AS in profile aliases (roles.phoenix.profile "aliases")',
    });
  });

  test('no federation check applies; the reason names Matrix federation in the profile', () => {
    const checks = checksOfFamilies('FED');
    expect(checks.length).toBeGreaterThan(20);
    for (const { check, profile } of executions(checks)) {
      const a = applicability(is, exercisedBy(check), profile);
      expect(a.applies, `${check.name} (${profile})`).toBe(false);
      if (!a.applies)
        expect(a.reason).toContain(`Matrix federation in ${profile} (roles.federation.profiles)`);
    }
  });
});

describe('an identity service with MSC4004', () => {
  const is = target(identityRoles(true));

  test('the IS-LOOKUP, IS-FED and IS-PUSH checks with a server role all apply, on that server', () => {
    const checks = ['IS-LOOKUP', 'IS-FED', 'IS-PUSH']
      .flatMap(checksOfFamily)
      .filter((c) => !clientOnly(c));
    expect(checks.length).toBeGreaterThanOrEqual(18);
    for (const { check, profile } of executions(checks))
      expect(applicability(is, exercisedBy(check), profile), check.name).toEqual({
        applies: true,
        servers: ['is.example'],
      });
  });

  test('implementsRole: IS for MSC4004 rules only with msc4004 true; IS-LOOKUP rules either way', () => {
    expect(implementsRole(identityRoles(true), 'IS', 'matrix-current', ['IS-PUSH-01'])).toBe(true);
    expect(implementsRole(identityRoles(false), 'IS', 'matrix-current', ['IS-PUSH-01'])).toBe(
      false,
    );
    expect(implementsRole(identityRoles(false), 'IS', 'matrix-current', ['IS-FED-01'])).toBe(false);
    expect(implementsRole(identityRoles(false), 'IS', 'matrix-current', ['IS-LOOKUP-01'])).toBe(
      true,
    );
    // A check proving a lookup rule beside an MSC4004 one does not need MSC4004 as a whole.
    expect(
      implementsRole(identityRoles(false), 'IS', 'matrix-current', ['IS-LOOKUP-01', 'IS-FED-01']),
    ).toBe(true);
  });

  test('only the servers that implement the role are named, in config order', () => {
    const mixed: TargetRoles = {
      servers: [
        { serverName: 'old.example', roles: identityRoles(false) },
        { serverName: 'hs.example', roles: { phoenix: { profile: 'multi-device' } } },
        { serverName: 'new.example', roles: identityRoles(true) },
      ],
      client: false,
    };
    expect(applicability(mixed, exercisedBy(checkOf('IS-PUSH-01')), 'matrix-current')).toEqual({
      applies: true,
      servers: ['new.example'],
    });
    expect(applicability(mixed, exercisedBy(checkOf('IS-LOOKUP-01')), 'matrix-current')).toEqual({
      applies: true,
      servers: ['old.example', 'new.example'],
    });
  });
});

describe('a Phoenix-only server in profile aliases', () => {
  const aliases = target({ phoenix: { profile: 'aliases' } });

  test('a multi-device-only check (CONN-PKG-02) does not apply; the reason names the multi-device profile', () => {
    const check = checkOf('CONN-PKG-02');
    expect(check.profiles).toEqual(['multi-device']);
    const a = applicability(aliases, exercisedBy(check), 'multi-device');
    expect(a.applies).toBe(false);
    if (!a.applies) {
      expect(a.reason).toContain(
        'Phoenix AS in profile multi-device (roles.phoenix.profile "multi-device")',
      );
      // CONN-PKG-02 binds CLIENT too: the reason offers both ways to make it apply.
      expect(a.reason).toMatch(/ or .*a client under test|a client under test.* or /);
    }
  });

  test('an AS check of both profiles applies in aliases and not in multi-device', () => {
    const check = checkOf('CONN-DISC-01');
    expect(applicability(aliases, exercisedBy(check), 'aliases')).toEqual({
      applies: true,
      servers: ['is.example'],
    });
    expect(applicability(aliases, exercisedBy(check), 'multi-device').applies).toBe(false);
    expect(implementsRole({ phoenix: { profile: 'aliases' } }, 'AS', 'aliases', [])).toBe(true);
    expect(implementsRole({ phoenix: { profile: 'aliases' } }, 'DS', 'multi-device', [])).toBe(
      false,
    );
  });

  test('an aliases-only check (CONN-DISC-03) applies', () => {
    expect(applicability(aliases, exercisedBy(checkOf('CONN-DISC-03')), 'aliases')).toEqual({
      applies: true,
      servers: ['is.example'],
    });
  });

  test('no identity or federation check applies to it', () => {
    for (const { check, profile } of executions(
      checksOfFamilies('IS').concat(checksOfFamilies('FED')),
    ))
      expect(applicability(aliases, exercisedBy(check), profile).applies, check.name).toBe(false);
  });
});

describe('CLIENT-only checks and the client under test', () => {
  const servers: TargetRoles['servers'] = [
    { serverName: 'hs1.example', roles: { phoenix: { profile: 'multi-device' } } },
    { serverName: 'hs1.example', roles: { phoenix: { profile: 'aliases' } } },
    { serverName: 'is.example', roles: identityRoles(true) },
  ];
  const cep = checkOf('CONN-CEP-01');

  test('CONN-CEP-01 binds only CLIENT', () => {
    expect(exercisedBy(cep).roles).toEqual(['CLIENT']);
  });

  test('with client false a CLIENT-only check is n/a, even with a Phoenix server in its profile', () => {
    const a = applicability({ servers, client: false }, exercisedBy(cep), 'multi-device');
    expect(a).toEqual({
      applies: false,
      reason:
        'no server of the target implements a client under test (fedconn’s reference client on the sim target, or `--client`)',
    });
  });

  test('with client true it applies, on every server of the target, each named once', () => {
    expect(applicability({ servers, client: true }, exercisedBy(cep), 'multi-device')).toEqual({
      applies: true,
      servers: ['hs1.example', 'is.example'],
    });
  });

  test('every CLIENT-only check: n/a without the client, applies with it', () => {
    const checks = CHECKS.filter(clientOnly);
    expect(checks.length).toBeGreaterThan(10);
    for (const { check, profile } of executions(checks)) {
      expect(applicability({ servers, client: false }, exercisedBy(check), profile).applies).toBe(
        false,
      );
      expect(applicability({ servers, client: true }, exercisedBy(check), profile).applies).toBe(
        true,
      );
    }
  });

  test('an identity client alone under test (--client): its CLIENT checks apply, Phoenix client and server checks do not', () => {
    const only = {
      servers,
      client: true,
      clientKinds: ['identity'] as const,
      serversUnderTest: false,
    };
    expect(
      applicability(only, exercisedBy(checkOf('IS-LOOKUP-10')), 'matrix-current').applies,
    ).toBe(true);
    expect(applicability(only, exercisedBy(cep), 'multi-device')).toEqual({
      applies: false,
      reason: 'the client under test is not a phoenix client',
    });
    expect(applicability(only, exercisedBy(checkOf('IS-LOOKUP-03')), 'matrix-current')).toEqual({
      applies: false,
      reason: 'only the client is under test (--client): the servers are fedconn’s own',
    });
  });

  test('a server never implements CLIENT', () => {
    expect(
      implementsRole(
        {
          phoenix: { profile: 'multi-device' },
          federation: { profiles: ['matrix-current'] },
          ...identityRoles(true),
        },
        'CLIENT',
        'multi-device',
        ['CONN-CEP-01'],
      ),
    ).toBe(false);
  });
});

describe('a check that names fewer roles than its rule binds', () => {
  const check = checkOf('FED-KEYS-08');
  const isOnly: TargetConfig = {
    version: 2,
    servers: [
      {
        server_name: 'is.example',
        base_url: 'http://127.0.0.1:1',
        roles: identityRoles(true),
        driver: { kind: 'fedconn', provisioning_token: 'x' },
        capabilities: {},
      },
    ],
  };

  test('FED-KEYS-08 binds FED and IS, but its check exercises only FED', () => {
    expect(getRule('FED-KEYS-08').roles).toEqual(expect.arrayContaining(['FED', 'IS']));
    expect(check.roles).toEqual(['FED']);
    expect(exercisedBy(check).roles).toEqual(['FED']);
  });

  test('on an IS-only target the FED-KEYS-08 check is n/a, not run on the identity service', () => {
    for (const profile of check.profiles) {
      const a = applicability(target(identityRoles(true)), exercisedBy(check), profile);
      expect(a.applies).toBe(false);
      if (!a.applies) expect(a.reason).toContain('Matrix federation');
    }
    // Without the check's own roles, the rule's IS role would have made it apply.
    expect(
      applicability(
        target(identityRoles(true)),
        { roles: getRule('FED-KEYS-08').roles, rules: check.rules },
        'matrix-current',
      ).applies,
    ).toBe(true);
  });

  test('planOf on an http IS-only target says n/a (not the skip for its missing impostor)', async () => {
    const http = httpTarget(isOnly, { timeoutMs: 1000, label: 'http (test)' });
    try {
      const plan = planOf(http, check, 'matrix-current');
      expect(plan.runs).toBe(false);
      if (!plan.runs) {
        expect(plan.status).toBe('n/a');
        expect(plan.reason).toContain('Matrix federation in matrix-current');
      }
      // An IS-LOOKUP check on the same target runs; so does FED-KEYS-08 on a federation target.
      expect(planOf(http, checkOf('IS-LOOKUP-01'), 'matrix-current')).toEqual({
        runs: true,
        servers: ['is.example'],
      });
      const fed = httpTarget(
        {
          version: 2,
          servers: [
            {
              ...isOnly.servers[0],
              server_name: 'hs.example',
              base_url: 'http://127.0.0.1:1',
              roles: { federation: { profiles: ['matrix-current'] } },
              driver: { kind: 'fedconn', provisioning_token: 'x' },
              capabilities: {},
            },
          ],
        },
        { timeoutMs: 1000, label: 'http (fed)' },
      );
      // fedconn's impostors run on loopback for an http target; moving its time cannot.
      expect(planOf(fed, check, 'matrix-current')).toEqual({ runs: true, servers: ['hs.example'] });
      expect(planOf(fed, { ...check, needs: ['virtual-time'] }, 'matrix-current')).toEqual({
        runs: false,
        status: 'skip',
        reason: 'needs virtual-time, which the http target cannot provide',
      });
      await fed.close();
    } finally {
      await http.close();
    }
  });
});

describe('the simulator declares every role', () => {
  test('every check of the registry applies to the sim target in every profile it runs in', () => {
    const sim = simTarget({ services: ALL_SERVICES });
    const notApplicable = executions(CHECKS)
      .map(({ check, profile }) => ({ check, profile, plan: planOf(sim, check, profile) }))
      .filter((x) => !x.plan.runs)
      .map((x) => `${x.check.name} (${x.profile})`);
    expect(notApplicable).toEqual([]);
  });
});
