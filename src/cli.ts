#!/usr/bin/env node
/**
 * The `runbook` command line (spec §5). Each command's module is imported only when it runs, so
 * `validate` and `plan` never load the TUI (ink costs ~0.6 s) or the run machinery.
 * Exit codes: 0 ok · 1 run failed (rolled back) · 2 invalid runbook/params/usage · 3 rollback failed ·
 * 4 lock held · 5 taken over by another runner (lease lost) · 130 aborted.
 */
import './util/quiet-sdk-warning.js';
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const collect = (value: string, previous: string[] = []) => [...previous, value];
const stateDirOption = () => new Option('--state-dir <dir>', 'where runs, journals and locks live (default .runbook/, or $RUNBOOK_STATE_DIR, or `state:` in runbook.config.yaml); the same as --state file:<dir>');
const stateOption = () => new Option('--state <url>', 'the state store: file:<dir> (default file:.runbook) or postgres://user@host/db, shared by every runner (or $RUNBOOK_STATE)');
const leaseOption = () => new Option('--lease <duration>', "the run's lease in a shared store: another runner may take the run over once it passes (default 15s)");
const paramsFileOption = () => new Option('--params-file <file>', 'params from a YAML or JSON file (a map of name: value); --set wins over it');
const maxParallelOption = () => new Option('--max-parallel <n>', 'at most this many steps run at once in the whole run (default 64, or $RUNBOOK_MAX_PARALLEL, or `max_parallel:` in runbook.config.yaml)');
const inventoryOption = () => new Option('--inventory <file>', "an Ansible inventory (YAML or INI) for the ssh connections' hosts (wins over RUNBOOK_INVENTORY, the runbook's inventory: and runbook.config.yaml)");

/** `runbook run FILE --help` (and plan): the runbook's own params, prepared before commander prints help. */
let runbookParamsHelp = '';

function examples(lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`;
}

export function buildProgram(run: (code: Promise<number> | number) => void): Command {
  const program = new Command('runbook')
    .description('A declarative runbook interpreter for disaster recovery: validate, plan, run, resume and report YAML runbooks.')
    .version(pkg.version, '-V, --version')
    .showSuggestionAfterError(true)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .addHelpText('after', examples(['runbook validate runbooks/*.yaml', 'runbook plan runbooks/database-corruption.yaml --set target=staging', 'runbook run runbooks/database-corruption.yaml --set target=staging', 'runbook report latest --format md']));

  program
    .command('validate')
    .description('check runbook files against the schema and the semantic rules; print every error as file:line:col')
    .argument('<file...>', 'runbook YAML files')
    .option('--json', 'print the result as JSON (the same as --format json)')
    .addOption(new Option('--format <format>', 'text (default), json, github (workflow annotations ::error file=…,line=…,col=…::), or sarif (SARIF 2.1.0 for code scanning)').choices(['text', 'json', 'github', 'sarif']))
    .addHelpText('after', examples(['runbook validate runbooks/*.yaml', 'runbook validate --json my-runbook.yaml', 'runbook validate --format github runbooks/*.yaml', 'runbook validate --format sarif runbooks/*.yaml > runbook.sarif']))
    .action(async (files: string[], opts) => run((await import('./cli/validate.js')).validateCommand(files, opts)));

  program
    .command('plan')
    .description('the dry run: phases and steps in execution order, rendered bodies, guards, rollbacks, predicted critical path vs the RTO (changes nothing)')
    .argument('<file>', 'runbook YAML file')
    .option('--set <name=value>', 'set a param (repeatable)', collect)
    .addOption(paramsFileOption())
    .option('--json', 'print the plan as one JSON document')
    .option('--preflight', 'also run read-only checks of every connection and target (ssh: each host\'s key and login)')
    .addOption(inventoryOption())
    .addOption(stateDirOption())
    .addOption(stateOption())
    .addHelpText('after', () => examples(['runbook plan runbooks/database-corruption.yaml --set target=staging', 'runbook plan runbooks/database-corruption.yaml --json --preflight']) + runbookParamsHelp)
    .action(async (file: string, opts) => run((await import('./cli/plan.js')).planCommand(file, opts)));

  program
    .command('run')
    .description('run a runbook: live TUI on a terminal, plain lines otherwise, NDJSON events with --json')
    .argument('<file>', 'runbook YAML file')
    .option('--set <name=value>', 'set a param (repeatable)', collect)
    .addOption(paramsFileOption())
    .option('--yes', 'approve confirm/approve steps without asking')
    .option('--step', 'step through interactively: confirm each step before it runs')
    .option('--dry-run', 'walk the whole run without side effects')
    .option('--drill', 'a real run that is a DR drill: its report is a drill report, `runbook drills` and `stats` count it as one')
    .option('--json', 'write the journal events to stdout as NDJSON (no TUI)')
    .option('--no-tui', 'plain, timestamped lines instead of the TUI')
    .addOption(inventoryOption())
    .option('--color', 'colours, also when piped (or RUNBOOK_COLOR=always, `color: always` in runbook.config.yaml); by default on a terminal, as NO_COLOR and FORCE_COLOR say')
    .option('--no-color', 'no colours (or RUNBOOK_COLOR=never, `color: never`)')
    .addOption(maxParallelOption())
    .addOption(stateDirOption())
    .addOption(stateOption())
    .addOption(leaseOption())
    .addHelpText('after', () => examples(['runbook run runbooks/database-corruption.yaml --set target=staging', 'runbook run runbooks/database-corruption.yaml --drill --yes', 'runbook run drill.yaml --no-tui --yes', 'runbook run drill.yaml --json > events.ndjson', 'runbook run drill.yaml --step', 'runbook run drill.yaml --help   # also lists the runbook\'s params']) + runbookParamsHelp)
    .action(async (file: string, opts) => run((await import('./cli/run.js')).runCommand(file, opts)));

  program
    .command('resume')
    .description('continue a run whose process died: finished steps are not run again')
    .argument('<run-id>', "the run's id (or 'latest')")
    .option('--rerun-inflight', 'run again a non-idempotent step that was running when the process died')
    .option('--skip-inflight', 'do not run it again (it is recorded as skipped)')
    .option('--accept-changes', 'resume although step definitions changed since the run started (they are listed)')
    .option('--mark-done <address>', 'record an instance (e.g. restart-each[1]) as done by hand: treated as succeeded (repeatable; needs --reason)', collect)
    .option('--reason <text>', 'why the --mark-done instances count as done (journaled)')
    .option('--yes', 'approve confirm/approve steps without asking')
    .option('--json', 'write the journal events to stdout as NDJSON (no TUI)')
    .option('--no-tui', 'plain, timestamped lines instead of the TUI')
    .addOption(inventoryOption())
    .option('--color', 'colours, also when piped (or RUNBOOK_COLOR=always, `color: always` in runbook.config.yaml); by default on a terminal, as NO_COLOR and FORCE_COLOR say')
    .option('--no-color', 'no colours (or RUNBOOK_COLOR=never, `color: never`)')
    .addOption(maxParallelOption())
    .addOption(stateDirOption())
    .addOption(stateOption())
    .addOption(leaseOption())
    .addHelpText('after', examples(['runbook resume latest --rerun-inflight', 'runbook resume 20261126T043012Z-database-corruption-3f9a --no-tui', 'runbook resume latest --mark-done "restart-each[1]" --reason "restarted web-2 by hand"']))
    .action(async (id: string, opts) => run((await import('./cli/run.js')).resumeCommand(id, opts)));

  program
    .command('report')
    .description("render a run's journal: the incident/drill report (md), json, junit or prometheus")
    .argument('<run-id>', "the run's id, or 'latest'")
    .addOption(new Option('--format <format>', 'output format').choices(['md', 'json', 'junit', 'prometheus']).default('md'))
    .option('-o, --output <file>', 'write to a file (written whole, never half)')
    .addOption(stateDirOption())
    .addOption(stateOption())
    .addHelpText('after', examples(['runbook report latest', 'runbook report latest --format junit -o report.xml', 'runbook report latest --format prometheus -o /var/lib/node_exporter/runbook.prom']))
    .action(async (id: string, opts) => run((await import('./cli/report.js')).reportCommand(id, opts)));

  program
    .command('history')
    .description('list past runs (runbook, start, duration, status, RTO met)')
    .argument('[runbook-id]', 'only runs of this runbook')
    .option('--json', 'print as JSON')
    .option('--limit <n>', 'at most this many runs (default 50)')
    .option('--accuracy', "how far each run's plan (its prediction when it started) was from what happened, and the mean error")
    .addOption(stateDirOption())
    .addOption(stateOption())
    .addHelpText('after', examples(['runbook history', 'runbook history database-corruption --json']))
    .action(async (id: string | undefined, opts) => run((await import('./cli/report.js')).historyCommand(id, opts)));

  program
    .command('stats')
    .description("the DR guide's KPIs from history: backup, restore-test and recovery success rates, backup duration, MTTR, RTO and RPO against the objectives, each with its trend")
    .option('--since <duration>', 'window: runs started within it (default 90d)')
    .option('--runbook <id>', 'only runs of this runbook')
    .option('--json', 'print as JSON (the same as --format json)')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json', 'prometheus']))
    .option('-o, --output <file>', 'write to a file (written whole, never half), e.g. a node_exporter textfile .prom')
    .option('--drills <file>', 'the drill schedule whose status is included (default drills.yaml here, when present)')
    .addOption(stateDirOption())
    .addOption(stateOption())
    .addHelpText('after', examples(['runbook stats', 'runbook stats --since 30d --runbook database-corruption --json', 'runbook stats --format prometheus -o /var/lib/node_exporter/textfile/runbook-kpi.prom']))
    .action(async (opts) => run((await import('./cli/kpi.js')).statsCommand(opts)));

  program
    .command('drills')
    .description("the DR testing schedule (drills.yaml): each drill's last run, result and RTO, when it is next due, what is overdue")
    .option('--file <file>', 'the schedule (default drills.yaml here)')
    .option('--json', 'print as JSON')
    .addOption(stateDirOption())
    .addOption(stateOption())
    .addHelpText('after', examples(['runbook drills', 'runbook drills --json --state-dir /var/lib/runbook']))
    .action(async (opts) => run((await import('./cli/kpi.js')).drillsCommand(opts)));

  program
    .command('attach')
    .description('follow a live run from any terminal that reaches its store (read-only): TUI, plain lines or --json, until it ends')
    .argument('<run-id>', "the run's id, or 'latest'")
    .option('--json', 'write the events as NDJSON (no TUI)')
    .option('--no-tui', 'plain, timestamped lines instead of the TUI')
    .option('--color', 'colours, also when piped (or RUNBOOK_COLOR=always, `color: always` in runbook.config.yaml); by default on a terminal, as NO_COLOR and FORCE_COLOR say')
    .option('--no-color', 'no colours (or RUNBOOK_COLOR=never, `color: never`)')
    .addOption(stateDirOption())
    .addOption(stateOption())
    .addHelpText('after', examples(['runbook attach latest', 'runbook attach 20261126T043012Z-database-corruption-3f9a --state postgres://runbook@db.ops/runbook']))
    .action(async (id: string, opts) => run((await import('./cli/attach.js')).attachCommand(id, opts)));

  program
    .command('export')
    .description("write a run's journal as JSONL (to move it to another store with import)")
    .argument('<run-id>', "the run's id, or 'latest'")
    .option('-o, --output <file>', 'write to a file (written whole, never half)')
    .addOption(stateDirOption())
    .addOption(stateOption())
    .addHelpText('after', examples(['runbook export latest -o run.jsonl', 'runbook export latest | runbook import - --state postgres://runbook@db.ops/runbook']))
    .action(async (id: string, opts) => run((await import('./cli/transfer.js')).exportCommand(id, opts)));

  program
    .command('import')
    .description('store a journal written by export (JSONL, one run) in the chosen store')
    .argument('<file>', "a JSONL journal, or '-' for stdin")
    .addOption(stateDirOption())
    .addOption(stateOption())
    .addHelpText('after', examples(['runbook import run.jsonl --state postgres://runbook@db.ops/runbook']))
    .action(async (file: string, opts) => run((await import('./cli/transfer.js')).importCommand(file === '-' ? '/dev/stdin' : file, opts)));

  program
    .command('params')
    .description("list a runbook's params: type, default, allowed values, description")
    .argument('<file>', 'runbook YAML file')
    .option('--json', 'print as JSON')
    .addHelpText('after', examples(['runbook params runbooks/database-corruption.yaml']))
    .action(async (file: string, opts) => run((await import('./cli/params.js')).paramsCommand(file, opts)));

  program
    .command('schema')
    .description('print the JSON Schema of runbook files (point your editor at schema/runbook.schema.json)')
    .addHelpText('after', examples(['runbook schema > runbook.schema.json']))
    .action(async () => {
      // The editor-facing form, the same as schema/runbook.schema.json of this version.
      const [{ runbookSchema }, { editorSchema }] = await Promise.all([import('./dsl/schema.js'), import('./dsl/schema-editor.js')]);
      process.stdout.write(JSON.stringify(editorSchema(runbookSchema()), null, 2) + '\n');
      run(0);
    });

  return program;
}

async function main(): Promise<void> {
  const { exitWith } = await import('./cli/exit.js');
  let settled = false;
  const finish = (code: Promise<number> | number) => {
    settled = true;
    Promise.resolve(code)
      .then((c) => exitWith(c))
      .catch(async (e) => {
        const err = e as Error;
        // Bad settings or usage: one line, exit 2 (nothing was executed).
        if (['UsageError', 'ConfigError', 'StateDirError'].includes(err?.name)) {
          process.stderr.write(`runbook: ${err.message}\n`);
          return exitWith(2);
        }
        // Anything else is a defect: still one line for the operator (the stack on request).
        process.stderr.write(process.env.RUNBOOK_DEBUG ? `runbook: ${err?.stack ?? e}\n` : `runbook: internal error: ${err?.message ?? e} (set RUNBOOK_DEBUG=1 for the stack trace)\n`);
        await exitWith(1);
      });
  };
  const program = buildProgram(finish);
  const argv = process.argv.slice(2);
  if ((argv[0] === 'run' || argv[0] === 'plan') && argv.some((a) => a === '--help' || a === '-h')) {
    const file = argv.slice(1).find((a) => !a.startsWith('-'));
    if (file) runbookParamsHelp = await (await import('./cli/params.js')).paramsHelp(file);
  }
  try {
    await program.parseAsync(process.argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version exit 0; every usage error exits 2 (spec §5).
      const ok = e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help';
      await exitWith(ok ? 0 : 2);
    }
    throw e;
  }
  if (!settled && process.argv.length <= 2) {
    program.outputHelp();
    await exitWith(2);
  }
}

// Not top-level await: the same module is bundled as CommonJS for bin/runbook.cjs (docs/startup.md).
void main();
