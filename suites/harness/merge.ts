// `fedconn merge`: the reports of the shards of one run (`fedconn run --shard K/N`, one per
// CI job) put back together into the report of the whole run. The verdicts are folded
// from the shards' check results by the runner's own assembleReport, so a merged report
// says what an unsharded run of the same seed says.
import { z } from 'zod';
import { isRuleId, PROFILES } from '../catalog/index.ts';
import type { CheckResult, RunReport } from './report.ts';
import { assembleReport } from './runner.ts';

export class MergeError extends Error {}

const exchange = z.object({
  direction: z.enum(['to target', 'to peer']),
  method: z.string(),
  url: z.string(),
  headers: z.record(z.string(), z.string()),
  body: z.string().optional(),
  status: z.number().optional(),
  answer_type: z.string().optional(),
  answer: z.string().optional(),
  error: z.string().optional(),
});

const failure = z.object({
  message: z.string(),
  expected: z.string().optional(),
  actual: z.string().optional(),
  counterexample: z.string().optional(),
  seed: z.number(),
  path: z.string().optional(),
  repro: z.string(),
  transcript: z.array(exchange).optional(),
});

const check = z.object({
  check: z.string(),
  rules: z.array(z.string()),
  profile: z.enum(PROFILES),
  status: z.enum(['pass', 'fail', 'error', 'timeout', 'skip', 'n/a']),
  durationMs: z.number(),
  iterations: z.number(),
  skipReason: z.string().optional(),
  notes: z.array(z.string()).optional(),
  failure: failure.optional(),
  untried: z.array(z.string()).optional(),
  position: z.number().int().min(0),
});

const shardReport = z.object({
  format: z.literal('fedconn-conformance/1'),
  tool: z.object({ name: z.literal('fedconn'), version: z.string() }),
  target: z.string(),
  profiles: z.array(z.enum(PROFILES)),
  seed: z.number(),
  runs: z.number(),
  mutant: z.string().optional(),
  shard: z.object({ index: z.number().int().min(1), count: z.number().int().min(1) }),
  strict: z.boolean(),
  expectedToFail: z.array(z.string()),
  startedAt: z.string(),
  durationMs: z.number(),
  rules: z.array(z.object({ id: z.string(), note: z.string().optional() })),
  checks: z.array(check),
});

type ShardReport = z.output<typeof shardReport>;

/** One shard's conformance.json, checked; errors name the file and the field. */
export function readShard(text: string, source: string): ShardReport {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new MergeError(`${source}: not JSON: ${(error as Error).message}`);
  }
  const parsed = shardReport.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue === undefined || issue.path.length === 0 ? '(root)' : issue.path.join('.');
    const hint = field === 'shard' ? ' (a report of `fedconn run --shard K/N` is needed)' : '';
    throw new MergeError(`${source}: ${field}: ${issue?.message ?? 'invalid'}${hint}`);
  }
  return parsed.data;
}

// Parsed JSON holds no undefined values, so its optional fields are absent, as
// CheckResult wants them (zod types them `T | undefined`).
const toCheckResult = (c: ShardReport['checks'][number]): CheckResult => {
  const { failure: f, ...rest } = c;
  if (f === undefined) return rest as CheckResult;
  const { transcript, ...kept } = f;
  return {
    ...rest,
    failure: {
      ...kept,
      ...(transcript === undefined
        ? {}
        : {
            exchanges: transcript.map(({ answer_type, ...e }) => ({
              ...e,
              ...(answer_type === undefined ? {} : { answerType: answer_type }),
            })),
          }),
    },
  } as CheckResult;
};

/** The whole run from its shards (each `[source, text]`), in any order. */
export function mergeShards(shards: readonly ShardReport[], sources: readonly string[]): RunReport {
  const [first] = shards;
  if (first === undefined) throw new MergeError('no shard reports given');
  // The shards must be of one run: same tool, target, seed, selection and shard count.
  const same = (field: string, of: (s: ShardReport) => unknown) => {
    const want = JSON.stringify(of(first));
    shards.forEach((s, i) => {
      if (JSON.stringify(of(s)) !== want)
        throw new MergeError(
          `${sources[i] ?? `shard ${i + 1}`}: ${field} ${JSON.stringify(of(s))} differs from ${sources[0] ?? 'the first'}'s ${want}: not shards of one run`,
        );
    });
  };
  same('tool version', (s) => s.tool.version);
  same('target', (s) => s.target);
  same('profiles', (s) => s.profiles);
  same('seed', (s) => s.seed);
  same('runs', (s) => s.runs);
  same('mutant', (s) => s.mutant ?? null);
  same('strict', (s) => s.strict);
  same('expectedToFail', (s) => [...s.expectedToFail].sort());
  same('shard count', (s) => s.shard.count);
  const count = first.shard.count;
  const indices = shards.map((s) => s.shard.index).sort((a, b) => a - b);
  const missing = Array.from({ length: count }, (_, i) => i + 1).filter(
    (i) => !indices.includes(i),
  );
  const twice = indices.filter((i, k) => indices.indexOf(i) !== k);
  if (missing.length > 0 || twice.length > 0)
    throw new MergeError(
      `shards of ${count}: ${missing.length > 0 ? `missing ${missing.join(', ')}` : ''}${missing.length > 0 && twice.length > 0 ? '; ' : ''}${twice.length > 0 ? `given twice ${twice.join(', ')}` : ''}`,
    );
  // A rule is selected where any shard did not call it "not selected" (they agree).
  const notSelected = new Set(
    first.rules.filter((r) => r.note === 'not selected').map((r) => r.id),
  );
  const checks = shards
    .flatMap((s) => s.checks)
    .sort((a, b) => a.position - b.position)
    .map(toCheckResult);
  const planned = new Set(checks.flatMap((c) => c.rules));
  for (const id of planned)
    if (!isRuleId(id)) throw new MergeError(`a check names rule ${id}, unknown to this fedconn`);
  const started = shards.map((s) => s.startedAt).sort()[0] ?? first.startedAt;
  return assembleReport(
    {
      profiles: first.profiles,
      selected: (rule) => !notSelected.has(rule.id),
      expectedToFail: new Set(first.expectedToFail),
      strict: first.strict,
      planned,
    },
    {
      tool: { name: 'fedconn', version: first.tool.version },
      target: first.target,
      profiles: first.profiles,
      seed: first.seed,
      runs: first.runs,
      ...(first.mutant === undefined ? {} : { mutant: first.mutant }),
      strict: first.strict,
      expectedToFail: first.expectedToFail,
      startedAt: started,
      // The merged run took as long as its slowest shard (the shards run side by side).
      durationMs: Math.max(...shards.map((s) => s.durationMs)),
    },
    checks,
  );
}
