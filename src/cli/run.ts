/**
 * `runbook run <file>` and `runbook resume <run-id>`: validate, resolve params and secrets, take the
 * lock, pick the view (TUI on a TTY, else plain lines, or NDJSON with --json), run, write the report.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { cliParams } from './params.js';
import { cliConfig } from './config.js';
import { Runner, ResumeError, safeUser, EXIT, type RunOptions } from '../interpreter/run.js';
import { readSecretsTree } from '../interpreter/secrets.js';
import { acquireLock, LockHeldError, readLock, type Lock } from '../interpreter/lock.js';
import { findOrphans } from '../interpreter/orphans.js';
import { hostname } from 'node:os';
import { autoDecider, type Decider } from '../interpreter/decisions.js';
import { newRunId } from '../interpreter/run-id.js';
import type { EventListener, RunEvent, RunStartedEvent } from '../interpreter/events.js';
import { createPlainPrinter } from '../tui/plain.js';
import { readRunEvents, resolveRunId } from '../report/read.js';
import { renderReport } from '../report/index.js';
import { runDurations, phaseDurations, stepDurations } from '../report/history.js';
import { buildPlan } from '../interpreter/plan.js';
import { PLAN_FILE, readSavedPlan, savedPlanOf } from '../report/plan-accuracy.js';
import { printDiagnostics, defaultStateDir, loadOrReport } from './output.js';
import { checkStateDir, StateDirError } from './state-dir.js';
import { gatedSteps } from '../interpreter/gates.js';

export interface RunCliOptions {
  set?: string[];
  yes?: boolean;
  step?: boolean;
  dryRun?: boolean;
  json?: boolean;
  tui?: boolean;
  stateDir?: string;
  rerunInflight?: boolean;
  skipInflight?: boolean;
  paramsFile?: string;
  maxParallel?: string;
}

type Loaded = NonNullable<ReturnType<typeof loadOrReport>>;
const load = loadOrReport;

export async function runCommand(file: string, opts: RunCliOptions): Promise<number> {
  const loaded = load(file);
  if (!loaded) return EXIT.invalid;
  const params = cliParams(loaded.model, opts);
  if (!params) return EXIT.invalid;
  return execute(loaded, params, opts);
}

export async function resumeCommand(runIdArg: string, opts: RunCliOptions): Promise<number> {
  if (opts.rerunInflight && opts.skipInflight) {
    process.stderr.write('--rerun-inflight and --skip-inflight exclude each other\n');
    return EXIT.invalid;
  }
  const stateDir = defaultStateDir(opts.stateDir);
  let runId: string;
  let events: RunEvent[];
  try {
    checkStateDir(stateDir, 'read');
    runId = resolveRunId(stateDir, runIdArg);
    events = readRunEvents(stateDir, runId);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    return EXIT.invalid;
  }
  const started = events.find((e): e is RunStartedEvent => e.type === 'run.started');
  if (!started) {
    process.stderr.write(`run ${runId} has no run.started event\n`);
    return EXIT.invalid;
  }
  if (events.some((e) => e.type === 'run.finished')) {
    process.stderr.write(`run ${runId} already finished; nothing to resume\n`);
    return EXIT.invalid;
  }
  const loaded = load(started.file);
  if (!loaded) return EXIT.invalid;
  return execute(loaded, started.params, { ...opts, dryRun: started.dry_run }, { runId, events });
}

async function execute(loaded: Loaded, params: Record<string, unknown>, opts: RunCliOptions, resume?: { runId: string; events: RunEvent[] }): Promise<number> {
  const model = loaded.model;
  const stateDir = defaultStateDir(opts.stateDir);
  // A bad --max-parallel (or RUNBOOK_MAX_PARALLEL, or config) is a usage error before anything runs.
  cliConfig({ stateDir: opts.stateDir, maxParallel: opts.maxParallel });
  const secrets = readSecretsTree(loaded, process.env);
  if (secrets.diagnostics.length) {
    printDiagnostics(secrets.diagnostics);
    return EXIT.invalid;
  }
  const useTui = !opts.json && opts.tui !== false && !!process.stdout.isTTY;
  if (opts.step && !useTui) {
    process.stderr.write('--step needs an interactive terminal (it cannot be used with --json, --no-tui or piped output)\n');
    return EXIT.invalid;
  }
  // Nobody can answer a gate in a non-interactive run: refuse before anything runs (a dry run approves them itself).
  if (!useTui && !opts.yes && !opts.dryRun) {
    const done = new Set((resume?.events ?? []).flatMap((e) => (e.type === 'step.finished' ? [e.step] : [])));
    const gates = gatedSteps(loaded, params).filter((g) => g.kind === 'rollback confirm' || !done.has(g.step));
    if (gates.length) {
      process.stderr.write(
        `runbook: this run is not interactive and ${gates.length === 1 ? 'a step needs' : `${gates.length} steps need`} an operator's yes; nothing was run. Pass --yes to approve them, or run on a terminal:\n` +
          gates.map((g) => `  ${g.where}: ${g.step} (${g.kind})\n`).join(''),
      );
      return EXIT.invalid;
    }
  }
  try {
    checkStateDir(stateDir, 'write');
  } catch (e) {
    if (!(e instanceof StateDirError)) throw e;
    process.stderr.write(`runbook: ${e.message}\n`);
    return EXIT.invalid;
  }
  const runId = resume?.runId ?? newRunId(model.id);
  let lock: Lock | undefined;
  if (!opts.dryRun) {
    // Decision: a stale lock (its run's interpreter is dead) is not reclaimed while processes of
    // that run still live (shell steps survive a SIGKILL of the interpreter in their own process
    // groups): they may still be changing the very target the lock protects. Resuming that run kills
    // them first; a new run must wait for them (exit 4, naming them).
    const orphaned = orphanedHolder(stateDir, model.lock, resume?.runId);
    if (orphaned) {
      process.stderr.write(`runbook: ${orphaned}\n`);
      return EXIT.locked;
    }
    try {
      lock = acquireLock(stateDir, model.lock, { run: runId, runbook: model.id });
    } catch (e) {
      if (e instanceof LockHeldError) {
        process.stderr.write(`runbook: ${e.message}\n`);
        return EXIT.locked;
      }
      throw e;
    }
  }

  const user = safeUser();
  const listeners: EventListener[] = [];
  let decider: Decider = autoDecider({ yes: !!opts.yes, user, inflight: opts.rerunInflight ? 'rerun' : opts.skipInflight ? 'skip' : undefined });
  let tui: Awaited<ReturnType<typeof import('../tui/index.js').startTui>> | undefined;
  if (opts.json) {
    listeners.push((e) => void process.stdout.write(JSON.stringify(e) + '\n'));
  } else if (useTui) {
    const { startTui } = await import('../tui/index.js');
    const runHist = safe(() => runDurations(stateDir, model.id));
    const phaseHist = safe(() => phaseDurations(stateDir, model.id));
    tui = await startTui({
      stepMode: !!opts.step,
      yes: !!opts.yes,
      user,
      predicted: runHist ? { run_ms: runHist.p50, phases: Object.fromEntries([...(phaseHist ?? new Map())].map(([k, v]) => [k, v.p50])) } : undefined,
    });
    listeners.push((e) => tui!.push(e));
    const inner = tui.decider;
    // --rerun-inflight/--skip-inflight answer resume questions without asking.
    decider = opts.rerunInflight || opts.skipInflight ? { ...inner, decide: (r, s) => (r.kind === 'inflight' ? autoDecider({ yes: false, user, inflight: opts.rerunInflight ? 'rerun' : 'skip' }).decide(r, s) : inner.decide(r, s)) } : inner;
  } else {
    const print = createPlainPrinter((line) => void process.stdout.write(line + '\n'), { color: !!process.stdout.isTTY && !process.env.NO_COLOR });
    listeners.push(print);
  }

  const runOpts: RunOptions = {
    loaded,
    params,
    secrets: secrets.values,
    childSecrets: secrets.byFile,
    stateDir,
    decider,
    dryRun: !!opts.dryRun,
    stepMode: !!opts.step,
    yes: !!opts.yes,
    listeners,
    runId,
    resume,
    maxParallel: cliConfig({ stateDir: opts.stateDir, maxParallel: opts.maxParallel }).maxParallel,
  };
  let runner: Runner;
  try {
    runner = new Runner(runOpts);
  } catch (e) {
    lock?.release();
    await tui?.finish({});
    process.stderr.write(`runbook: ${(e as Error).message}\n`);
    return EXIT.invalid;
  }
  // What plan predicts now is kept with the run, for the report's "Plan Against Actual".
  if (!resume) savePlan(stateDir, runId, loaded, params);

  // Signals: the first aborts and rolls back per policy, the second skips the rollback.
  let signals = 0;
  const onSignal = (sig: string) => {
    signals++;
    runner.abort(`${sig}${signals > 1 ? ` (×${signals})` : ''}`, { rollback: signals === 1 });
  };
  const onInt = () => onSignal('SIGINT');
  const onTerm = () => onSignal('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  tui?.onInterrupt((count) => runner.abort(`${user} (Ctrl-C)`, { rollback: count <= 1 }));

  let result;
  try {
    result = await runner.run();
  } catch (e) {
    if (!(e instanceof ResumeError)) throw e;
    await tui?.finish({});
    process.stderr.write(`runbook: ${e.message}\n`);
    return EXIT.invalid;
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
    lock?.release();
  }
  const reportPath = writeRunReport(stateDir, result.runId);
  await tui?.finish({ reportPath });
  if (!opts.json && !tui && reportPath) process.stdout.write(`report: ${reportPath}\n`);
  return result.exitCode;
}

function savePlan(stateDir: string, runId: string, loaded: Loaded, params: Record<string, unknown>): void {
  try {
    const history = (id: string) => safe(() => stepDurations(stateDir, id));
    const plan = buildPlan(loaded.model, { params, loaded, history: history(loaded.model.id), historyFor: history });
    writeAtomic(join(stateDir, 'runs', runId, PLAN_FILE), JSON.stringify(savedPlanOf(plan)) + '\n');
  } catch {
    // A prediction that cannot be made or kept never stops a recovery: the report then has no such section.
  }
}

function orphanedHolder(stateDir: string, lockName: string, resuming: string | undefined): string | undefined {
  const holder = readLock(stateDir, lockName);
  if (!holder || holder.run === resuming || holder.host !== hostname() || isProcessAlive(holder.pid)) return undefined;
  const orphans = findOrphans(holder.run);
  if (!orphans.length) return undefined;
  return (
    `lock '${lockName}' was held by run ${holder.run} (pid ${holder.pid}, now dead, user ${holder.user}, since ${holder.started_at}), ` +
    `whose processes are still running: ${orphans.map((o) => `pid ${o.pid} [${o.step ?? '?'}] ${o.command}`).join('; ')}\n` +
    `resume that run (runbook resume ${holder.run}), which stops them first, or stop them yourself`
  );
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Every run becomes a report: `<state-dir>/runs/<id>/report.md`, written whole (temp + rename). */
function writeRunReport(stateDir: string, runId: string): string | undefined {
  try {
    const md = renderReport(readRunEvents(stateDir, runId), 'md', { plan: readSavedPlan(stateDir, runId) });
    const path = join(stateDir, 'runs', runId, 'report.md');
    writeAtomic(path, md);
    return path;
  } catch {
    return undefined;
  }
}

export function writeAtomic(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

function safe<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}
