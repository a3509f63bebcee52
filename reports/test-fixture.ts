// Test support: realistic RunReports for the reporter tests. Rule fields come
// from the catalog so levels, families and statements are the real ones.
import { activeRules, getRule, type Profile, type RuleId } from '../suites/catalog/index.ts';
import type {
  CheckResult,
  Failure,
  RuleResult,
  RuleStatus,
  RunReport,
} from '../suites/harness/report.ts';

/** Every kind of text a server under test could put in a message. */
export const NASTY = `<script>alert("x")</script> & 'quoted' ]]> \u0000\u0007\u001b[31m\uFFFE`;

function rule(
  id: RuleId,
  status: RuleStatus,
  extra: Partial<Pick<RuleResult, 'checks' | 'failures' | 'note' | 'statement'>> = {},
): RuleResult {
  const spec = getRule(id);
  return {
    id,
    level: spec.level,
    family: spec.family,
    roles: spec.roles,
    statement: spec.statement,
    status,
    checks: 0,
    failures: [],
    ...extra,
  };
}

function check(
  name: string,
  rules: readonly RuleId[],
  profile: Profile,
  status: CheckResult['status'],
  extra: Partial<Pick<CheckResult, 'failure' | 'skipReason' | 'durationMs'>> = {},
): CheckResult {
  return { check: name, rules, profile, status, durationMs: 12.5, iterations: 100, ...extra };
}

const repro = (rule: string, seed: number, path?: string) =>
  `npx fedconn run --rule ${rule} --seed ${seed}${path === undefined ? '' : ` --path ${path}`}`;

export const CHAIN_FAILURE: Failure = {
  message: `responder accepted an expired intermediate: ${NASTY}`,
  expected: 'status 403 and errcode "M_FORBIDDEN"',
  actual: 'status 200 <ok> & body {"joined":true}\u0001',
  counterexample: `{\n  "not_after": 0,\n  "label": "<AS> & 'co'"\n}`,
  seed: 1234,
  path: '3:1:0',
  repro: repro('CRED-CHAIN-03', 1234, '3:1:0'),
  exchanges: [
    {
      direction: 'to target',
      method: 'POST',
      url: 'https://hs1.example/_fedconn/v1/ds/groups/g1/join_connection_group',
      headers: { 'content-type': 'application/json' },
      body: '{"ear_key":"<k>"}',
      status: 200,
      answerType: 'application/json',
      answer: '{"joined":true}',
    },
  ],
};

const KNOWN_FAILURE: Failure = {
  message: 'revoked credential still accepted',
  expected: 'rejection',
  actual: 'acceptance',
  seed: 1234,
  repro: repro('CRED-CHAIN-09', 1234),
};

const KNOWN_TIMEOUT: Failure = {
  message: 'step deadline of 5000 ms passed',
  actual: 'Timeout',
  seed: 99,
  repro: repro('CRED-CHAIN-09', 99),
};

const ERROR_FAILURE: Failure = {
  message: "TypeError: Cannot read properties of undefined (reading 'queue')",
  seed: 1234,
  repro: repro('CONN-RACE-02', 1234),
};

const TIMEOUT_FAILURE: Failure = {
  message: 'step deadline of 5000 ms passed',
  expected: 'a key response',
  actual: 'Timeout',
  seed: 1234,
  repro: repro('FED-KEYS-04', 1234),
};

/**
 * A run against a real server where every status occurs once or more:
 * pass (with a check spanning two families and levels), fail, xfail, xpass,
 * error, timeout, skip (with and without a check execution) and planned.
 */
export function mixedReport(): RunReport {
  const at = <T extends Failure>(f: T, checkName: string, profile: Profile) => ({
    ...f,
    check: checkName,
    profile,
  });
  const rules: RuleResult[] = [
    rule('CRED-CHAIN-01', 'pass', { checks: 2 }),
    rule('CRED-CHAIN-03', 'fail', {
      checks: 2,
      statement: `An intermediate credential <must> be signed by the AS credential & "nothing" else's`,
      failures: [at(CHAIN_FAILURE, 'rejects an expired intermediate', 'multi-device')],
    }),
    rule('CRED-CHAIN-09', 'xfail', {
      checks: 2,
      note: 'known failure (expectations/acme.json): revocation list not served',
      failures: [
        at(KNOWN_FAILURE, 'rejects a revoked credential', 'multi-device'),
        at(KNOWN_TIMEOUT, 'serves the revocation list', 'aliases'),
      ],
    }),
    rule('CRED-CHAIN-11', 'pass', { checks: 1 }),
    rule('CONN-RACE-01', 'xpass', { checks: 1, note: 'expected to fail (expectations/acme.json)' }),
    rule('CONN-RACE-02', 'error', {
      checks: 1,
      failures: [at(ERROR_FAILURE, 'WelcomeBundle wins the race', 'multi-device')],
    }),
    rule('FED-NAME-01', 'skip', { note: 'profile matrix-2014 not selected' }),
    rule('FED-KEYS-04', 'timeout', {
      checks: 1,
      failures: [at(TIMEOUT_FAILURE, 'key response is self-signed', 'matrix-current')],
    }),
    rule('FED-KEYS-11', 'skip', { checks: 1, note: 'target does not decode base64 input' }),
    rule('IS-PUSH-01', 'planned'),
    rule('IS-PUSH-02', 'planned'),
  ];
  const checks: CheckResult[] = [
    check('verifies an honest chain', ['CRED-CHAIN-01'], 'multi-device', 'pass'),
    // SHOULD rule first: filed under CRED-CHAIN, level MUST from CRED-CHAIN-01.
    check('rejects small-order keys', ['CRED-CHAIN-11', 'CRED-CHAIN-01'], 'aliases', 'pass'),
    check('rejects an expired intermediate', ['CRED-CHAIN-03'], 'multi-device', 'fail', {
      failure: CHAIN_FAILURE,
      durationMs: 250,
    }),
    check('rejects an expired intermediate', ['CRED-CHAIN-03'], 'aliases', 'pass'),
    check('rejects a revoked credential', ['CRED-CHAIN-09'], 'multi-device', 'fail', {
      failure: KNOWN_FAILURE,
    }),
    check('checks the queue first', ['CONN-RACE-01'], 'multi-device', 'pass'),
    check('WelcomeBundle wins the race', ['CONN-RACE-02'], 'multi-device', 'error', {
      failure: ERROR_FAILURE,
    }),
    check('key response is self-signed', ['FED-KEYS-04'], 'matrix-current', 'timeout', {
      failure: TIMEOUT_FAILURE,
      durationMs: 5000,
    }),
    check('decodes padded base64', ['FED-KEYS-11'], 'matrix-current', 'skip', {
      skipReason: `target does not decode base64 input <${NASTY}>`,
      durationMs: 0,
    }),
    // A known failure that timed out is still a known failure.
    check('serves the revocation list', ['CRED-CHAIN-09'], 'aliases', 'timeout', {
      failure: KNOWN_TIMEOUT,
      durationMs: 5000,
    }),
  ];
  return {
    tool: { name: 'fedconn', version: '0.1.0' },
    target: 'http (reports/out/target.json) <acme & co>',
    profiles: ['multi-device', 'aliases', 'matrix-current'],
    seed: 1234,
    runs: 1,
    startedAt: '2026-08-01T10:00:00.000Z',
    durationMs: 8_421,
    summary: {
      pass: 2,
      fail: 1,
      xfail: 1,
      xpass: 1,
      error: 1,
      timeout: 1,
      skip: 2,
      planned: 2,
      'n/a': 0,
    },
    rules,
    checks,
    exitCode: 1,
  };
}

/** A mutant run: the reference with the chain check skipped, caught by one rule. */
export function mutantReport(): RunReport {
  const failure: Failure = {
    message: 'responder accepted a client credential signed by an unknown intermediate',
    expected: 'connection declined',
    actual: 'connection accepted',
    seed: 7,
    repro: 'npx fedconn run --mutant skip-chain-check --rule CRED-CHAIN-04 --seed 7',
  };
  return {
    tool: { name: 'fedconn', version: '0.1.0' },
    target: 'sim',
    profiles: ['multi-device'],
    seed: 7,
    runs: 2,
    mutant: 'skip-chain-check',
    startedAt: '2026-08-01T11:00:00.000Z',
    durationMs: 950,
    summary: {
      pass: 1,
      fail: 1,
      xfail: 0,
      xpass: 0,
      error: 0,
      timeout: 0,
      skip: 0,
      planned: 0,
      'n/a': 0,
    },
    rules: [
      rule('CRED-CHAIN-01', 'pass', { checks: 1 }),
      rule('CRED-CHAIN-04', 'fail', {
        checks: 1,
        failures: [
          { ...failure, check: 'rejects a foreign client credential', profile: 'multi-device' },
        ],
      }),
    ],
    checks: [
      check('verifies an honest chain', ['CRED-CHAIN-01'], 'multi-device', 'pass'),
      check('rejects a foreign client credential', ['CRED-CHAIN-04'], 'multi-device', 'fail', {
        failure,
      }),
    ],
    exitCode: 1,
  };
}

/** Today's reality: the catalog with no checks, every rule in force planned. */
export function allPlannedReport(): RunReport {
  const rules = activeRules().map((r) => rule(r.id, 'planned'));
  return {
    tool: { name: 'fedconn', version: '0.1.0' },
    target: 'sim',
    profiles: ['multi-device', 'aliases', 'matrix-2014', 'matrix-current'],
    seed: 1,
    runs: 1,
    startedAt: '2026-08-01T12:00:00.000Z',
    durationMs: 3,
    summary: {
      pass: 0,
      fail: 0,
      xfail: 0,
      xpass: 0,
      error: 0,
      timeout: 0,
      skip: 0,
      planned: rules.length,
      'n/a': 0,
    },
    rules,
    checks: [],
    exitCode: 0,
  };
}

/** conformance.json as a value without what differs between two runs of a seed (times). */
export function timelessReport(json: string): unknown {
  const doc = JSON.parse(json) as Record<string, unknown> & { checks: Record<string, unknown>[] };
  return {
    ...doc,
    startedAt: '',
    durationMs: 0,
    checks: doc.checks.map((c) => ({ ...c, durationMs: 0 })),
  };
}
