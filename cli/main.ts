// The fedconn command line. Each command lives in commands/; this file only
// parses arguments and maps errors to exit codes.
import { Command, CommanderError, Option } from 'commander';
import { SpecSyncError } from '../suites/catalog/markdown.ts';
import { rulesCommand } from './commands/rules.ts';
import { interopCommand } from './commands/interop.ts';
import { mutantsCommand } from './commands/mutants.ts';
import { runCommand, type RunCommandOptions } from './commands/run.ts';
import { serveCommand, type ServeCommandOptions } from './commands/serve.ts';
import { specSyncCommand } from './commands/spec-sync.ts';
import { EXIT, EXIT_HELP, UsageError, processIo, type Io } from './io.ts';
import { mergeCommand } from './commands/merge.ts';
import { clientShimCommand, type ClientShimOptions } from './commands/client-shim.ts';
import { experimentCommand, type ExperimentCommandOptions } from './commands/experiment.ts';

const list = (value: string, previous: readonly string[] = []) => [
  ...previous,
  ...value.split(',').filter((v) => v !== ''),
];

function program(io: Io, setCode: (code: number) => void): Command {
  const cli = new Command('fedconn')
    .description(
      'Conformance and simulation suite for federated discovery and connection establishment',
    )
    .version('0.1.0')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .addHelpText('after', EXIT_HELP);

  cli
    .command('rules')
    .description('list the rule catalog')
    .option('--json', 'print JSON for machines')
    .option('--family <ids>', 'only these families, e.g. CRED-CHAIN,FED-KEYS (repeatable)', list)
    .option('--profile <names>', 'only rules of these profiles (repeatable)', list)
    .option('--role <roles>', 'only rules binding these roles: AS, QS, DS, IS, FED, CLIENT', list)
    .option('--level <levels>', 'only these levels: MUST, SHOULD, MAY', list)
    .option('--status <statuses>', 'only these statuses: checked, planned, retired', list)
    .option('--retired', 'include retired rules')
    .action((options: Parameters<typeof rulesCommand>[0]) => {
      setCode(rulesCommand(options, io));
    });

  cli
    .command('run')
    .description('run the conformance suite (default target: the embedded simulator)')
    .option('--target <kind>', 'sim (default), http or container')
    .option('--config <file>', 'target config for --target http (as `fedconn serve` writes it)')
    .option('--image <name>', 'image for --target container')
    .option(
      '--profile <names>',
      'profiles to check (default: all four); repeatable or comma-separated',
      list,
    )
    .option('--rules <ids>', 'only these rule IDs or prefixes', list)
    .option('--skip <ids>', 'leave out these rule IDs or prefixes', list)
    .option('--list', 'show what would run, without running')
    .option('--json', 'with --list: print JSON')
    .option('--seed <n>', 'seed for every random choice (default: random, printed)')
    .option('--runs <n>', 'multiply property run counts by n', '1')
    .option('--timeout <ms>', 'deadline per check execution', '60000')
    .option(
      '--request-timeout <ms>',
      'deadline per request to a server under test (default: a third of --timeout, at most 10000)',
    )
    .option('--expect <file>', 'known failures: {"RULE-ID or prefix": "reason"}; reported as xfail')
    .option('--strict', 'SHOULD failures fail the run too')
    .option('--mutant <name>', 'run against this mutant of the reference (sim only)')
    .option(
      '--client <name>',
      'judge a client instead of servers: reference (fedconn’s own) or matrix-js-sdk (identity lookups, through msw)',
    )
    .option('--out <dir>', 'where to write the reports', 'reports/out')
    .option(
      '--shard <K/N>',
      'run only shard K of N of the checks (one CI job each); fedconn merge joins them',
    )
    .option(
      '--workers <n>',
      'workers to run the checks in, the last in this process (sim target; default: one per core, fewer for a small selection)',
    )
    .addOption(new Option('--events', 'progress as JSON lines, no summary (a worker)').hideHelp())
    .option('--quiet', 'print nothing but errors')
    .option('--verbose', "print each failure's whole transcript (the requests and answers kept)")
    .addHelpText('after', EXIT_HELP)
    .action(async (options: RunCommandOptions) => {
      setCode(await runCommand(options, io));
    });

  cli
    .command('mutants')
    .description('run the suite against every mutant of the reference and print the kill matrix')
    .option('--list', 'list the mutants and the rule each violates')
    .option(
      '--only <names>',
      'only these mutants (names as `fedconn mutants --list` prints them)',
      list,
    )
    .option('--seed <n>', 'seed for the runs', '1')
    .option('--out <dir>', 'where to write mutants.json', 'reports/out')
    .option(
      '--target <kind>',
      'sim (default); http: each server mutant served by fedconn serve and judged over HTTP; client-shim: each client mutant in `fedconn client-shim`, judged through the client driver protocol',
    )
    .action(
      async (options: {
        list?: boolean;
        only?: string[];
        seed?: string;
        out?: string;
        target?: string;
      }) => {
        setCode(await mutantsCommand(options, io));
      },
    )
    .addHelpText(
      'after',
      '\nEvery mutant is named <RULE-ID>/<what breaks>; `fedconn mutants --list` lists them all.\nOne of them against the suite: fedconn run --mutant NAME (or fedconn serve --mutant NAME).',
    );

  cli
    .command('serve')
    .description('run reference homeservers as real HTTP servers on loopback')
    .option(
      '--servers <n>',
      'how many homeservers in each profile (hs1.example, hs2.example, ... on from the first profile)',
      '2',
    )
    .option(
      '--profile <names>',
      'Phoenix profiles, comma-separated (multi-device, aliases); each gets --servers servers',
      'multi-device,aliases',
    )
    .option('--seed <seed>', 'seed for all key material', 'fedconn')
    .option('--config <file>', 'where to write the target config', 'reports/out/target.json')
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'first port (servers take consecutive ports); 0 picks free ports', '0')
    .option('--mutant <name>', 'serve this mutant of the reference (see `fedconn mutants --list`)')
    .option(
      '--store-latency <ms>',
      'give each store operation of the DS this latency (real time), as a database would, so races at the server show',
      '0',
    )
    .option(
      '--tls',
      'serve HTTPS (self-signed) under the names localhost:PORT, so a real homeserver (Synapse) can federate with them',
    )
    .action(async (options: ServeCommandOptions) => {
      setCode(await serveCommand(options, io));
    });

  cli
    .command('experiment')
    .description(
      'run a privacy experiment on the simulator: views, ground truth, attacks and measures (docs/experiments.md)',
    )
    .argument('<file>', 'the experiment, JSON or YAML')
    .option('--out <dir>', 'where to write the run (default reports/experiments/<name>)')
    .option('--quiet', 'no progress bar')
    .option(
      '--workers <n>',
      'child processes to run the worlds in (default: one per core for worlds of 100 users or more, else 1)',
    )
    .addOption(new Option('--shard <K/N>', 'run shard K of N (a worker)').hideHelp())
    .action(async (file: string, options: ExperimentCommandOptions) => {
      setCode(await experimentCommand(file, options, io));
    });

  cli
    .command('client-shim')
    .description(
      'fedconn’s reference client as a client under test: the client driver protocol on stdin/stdout (docs/client-driver.md)',
    )
    .option('--mutant <name>', 'a mutant of the reference client (`fedconn mutants --list`)')
    .action(async (options: ClientShimOptions) => {
      setCode(await clientShimCommand(options, io));
    });

  cli
    .command('interop')
    .description('one table of verdicts: rules down, implementations across')
    .argument('<runs...>', 'NAME=PATH of a conformance.json, one per implementation')
    .option('--rules <ids>', 'only these rule IDs or prefixes', list)
    .option('--out <dir>', 'where to write interop.md and interop.json', 'reports/out/interop')
    .action((runs: string[], options: { out: string; rules?: string[] }) => {
      setCode(interopCommand(runs, options, io));
    });

  cli
    .command('merge')
    .description("join the reports of a run's shards (fedconn run --shard K/N) into one")
    .argument('<shards...>', "each shard's conformance.json, or the directory holding it")
    .option('--out <dir>', 'where to write the merged reports', 'reports/out')
    .option('--quiet', 'print nothing but errors')
    .action((shards: string[], options: { out: string; quiet?: boolean }) => {
      setCode(mergeCommand(shards, options, io));
    });

  cli
    .command('spec-sync', { hidden: true })
    .description('regenerate the rule tables of docs/spec.md')
    .argument('<file>', 'the spec file')
    .option('--check', 'only report whether the file is up to date')
    .action((file: string, options: { check?: boolean }) => {
      setCode(specSyncCommand(file, options, io));
    });

  return cli;
}

/** Runs the CLI and returns the exit code; never calls process.exit. */
export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  let code: number = EXIT.ok;
  try {
    await program(io, (c) => (code = c)).parseAsync([...argv], { from: 'user' });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are successful exits; everything else is a usage error.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (error instanceof UsageError || error instanceof SpecSyncError) {
      io.err(`fedconn: ${error.message}\n`);
      return EXIT.usage;
    }
    throw error;
  }
}
