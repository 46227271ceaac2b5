/**
 * `runbook run <file>` and `runbook resume <run-id>`: validate, resolve params and secrets, take the
 * lock, pick the view (TUI on a TTY, else plain lines, or NDJSON with --json), run, write the report.
 */
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { cliParams } from './params.js';
import { cliConfig } from './config.js';
import { Runner, ResumeError, safeUser, EXIT, type ResumeInput, type RunOptions } from '../interpreter/run.js';
import { readSecretsTree } from '../interpreter/secrets.js';
import { LockHeldError } from '../interpreter/lock.js';
import { openStore, StateStoreError } from '../state/open.js';
import type { RunLease, StateStore } from '../state/types.js';
import { parseDuration } from '../dsl/duration.js';
import { guardTerminal } from './terminal.js';
import { findOrphans } from '../interpreter/orphans.js';
import { hostname } from 'node:os';
import { autoDecider, type Decider } from '../interpreter/decisions.js';
import { newRunId } from '../interpreter/run-id.js';
import type { EventListener, RunEvent, RunStartedEvent } from '../interpreter/events.js';
import { createPlainPrinter } from '../tui/plain.js';
import { loadWithColorLevel, outputColorLevel } from './color.js';
import { readRunEvents, resolveRunId } from '../report/read.js';
import { renderReport } from '../report/index.js';
import { runDurations, phaseDurations, stepDurations } from '../report/history.js';
import { buildPlan } from '../interpreter/plan.js';
import { PLAN_FILE, savedPlanOf } from '../report/plan-accuracy.js';
import { loadRunInventory } from './inventory.js';
import { printDiagnostics, loadOrReport } from './output.js';
import { checkStateDir, StateDirError } from './state-dir.js';
import { gatedSteps } from '../interpreter/gates.js';
import { FileStore } from '../state/file/index.js';
import { s3ThreadDisabled, startS3Thread, stopS3Thread } from '../steps/s3/thread.js';
import type { RunbookModel } from '../dsl/model.js';

/** `--lease` default (spec §10). */
export const DEFAULT_LEASE_MS = 15_000;

export interface RunCliOptions {
  set?: string[];
  yes?: boolean;
  step?: boolean;
  dryRun?: boolean;
  /** `--drill`: journaled as `run.started.drill` (a real run; not with --dry-run). */
  drill?: boolean;
  json?: boolean;
  tui?: boolean;
  stateDir?: string;
  /** `--state <url>` (spec §10). */
  state?: string;
  /** `--lease 15s`: the shared store's lease length. */
  lease?: string;
  rerunInflight?: boolean;
  skipInflight?: boolean;
  acceptChanges?: boolean;
  markDone?: string[];
  reason?: string;
  paramsFile?: string;
  maxParallel?: string;
  /** `--inventory FILE` (spec §9). */
  inventory?: string;
  /** `--color` / `--no-color` (undefined: the config file, RUNBOOK_COLOR, then the conventions). */
  color?: boolean;
}

type Loaded = NonNullable<ReturnType<typeof loadOrReport>>;
const load = loadOrReport;

export async function runCommand(file: string, opts: RunCliOptions): Promise<number> {
  const loaded = load(file);
  if (!loaded) return EXIT.invalid;
  if (opts.drill && opts.dryRun) {
    process.stderr.write('--drill marks a real run as a DR drill; it cannot be combined with --dry-run\n');
    return EXIT.invalid;
  }
  const params = cliParams(loaded.model, opts);
  if (!params) return EXIT.invalid;
  if (!opts.dryRun) startThreads(loaded.model);
  const store = await openOrReport(opts);
  if (!store) return EXIT.invalid;
  try {
    return await execute(store, loaded, params, opts);
  } finally {
    store.close();
    await stopS3Thread();
  }
}

export async function resumeCommand(runIdArg: string, opts: RunCliOptions): Promise<number> {
  if (opts.rerunInflight && opts.skipInflight) {
    process.stderr.write('--rerun-inflight and --skip-inflight exclude each other\n');
    return EXIT.invalid;
  }
  if (opts.markDone?.length && !opts.reason?.trim()) {
    process.stderr.write('--mark-done needs --reason "<why it counts as done>"\n');
    return EXIT.invalid;
  }
  const store = await openOrReport(opts);
  if (!store) return EXIT.invalid;
  try {
    let runId: string;
    let events: RunEvent[];
    try {
      runId = resolveRunId(store, runIdArg);
      events = readRunEvents(store, runId);
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
    if (!started.dry_run) startThreads(loaded.model);
    const markDone = (opts.markDone ?? []).map((address) => ({ address, reason: opts.reason!.trim() }));
    return await execute(store, loaded, started.params, { ...opts, dryRun: started.dry_run }, { runId, events, acceptChanges: !!opts.acceptChanges, markDone });
  } finally {
    store.close();
    await stopS3Thread();
  }
}

/**
 * The s3 thread loads the AWS SDK while the run is being set up (the store, the lock, the journal),
 * so that the first s3 step — a drill's first step, often — finds it ready. Only for a runbook with
 * an s3 connection (one used only by a sub-runbook starts the thread on its first step instead).
 */
function startThreads(model: RunbookModel): void {
  if (s3ThreadDisabled()) return;
  if (Object.values(model.connections).some((c) => c.kind === 's3')) startS3Thread();
}

/** Open the store the options name; a one-line message and undefined when it cannot be used (exit 2). */
export async function openOrReport(opts: { state?: string; stateDir?: string }, mode: { readOnly?: boolean } = {}): Promise<StateStore | undefined> {
  let store: StateStore;
  try {
    store = await openStore(opts, process.env, mode);
  } catch (e) {
    if (!(e instanceof StateStoreError)) throw e;
    process.stderr.write(`runbook: ${e.message}\n`);
    return undefined;
  }
  // A local store's folder that is a file, below a file, or not writable: one line, before anything runs.
  if (store instanceof FileStore) {
    try {
      // Read-only here: a run creates its folders only once its params and secrets are known (execute).
      checkStateDir(store.dir, 'read');
    } catch (e) {
      store.close();
      if (!(e instanceof StateDirError)) throw e;
      process.stderr.write(`runbook: ${e.message}\n`);
      return undefined;
    }
  }
  return store;
}

async function execute(store: StateStore, loaded: Loaded, params: Record<string, unknown>, opts: RunCliOptions, resume?: ResumeInput): Promise<number> {
  const model = loaded.model;
  // A bad --max-parallel (or RUNBOOK_MAX_PARALLEL, or config) is a usage error before anything runs.
  const { maxParallel } = cliConfig({ stateDir: opts.stateDir, maxParallel: opts.maxParallel });
  const secrets = readSecretsTree(loaded, process.env);
  if (secrets.diagnostics.length) {
    printDiagnostics(secrets.diagnostics);
    return EXIT.invalid;
  }
  const inventory = loadRunInventory(model, opts.inventory);
  if (inventory === false) return EXIT.invalid;
  const leaseMs = opts.lease === undefined ? DEFAULT_LEASE_MS : parseDuration(opts.lease);
  if (leaseMs === undefined || leaseMs < 1000) {
    process.stderr.write(`runbook: --lease '${opts.lease}': give a duration of at least 1s (e.g. 15s)\n`);
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
  if (store instanceof FileStore) {
    try {
      checkStateDir(store.dir, 'write');
    } catch (e) {
      if (!(e instanceof StateDirError)) throw e;
      process.stderr.write(`runbook: ${e.message}\n`);
      return EXIT.invalid;
    }
  }
  const runId = resume?.runId ?? newRunId(model.id);
  let lease: RunLease | undefined;
  if (!opts.dryRun) {
    // Decision: a stale lock (its run's interpreter is dead) is not reclaimed while processes of
    // that run still live (shell steps survive a SIGKILL of the interpreter in their own process
    // groups): they may still be changing the very target the lock protects. Resuming that run kills
    // them first; a new run must wait for them (exit 4, naming them).
    const orphaned = orphanedHolder(store, model.lock, resume?.runId);
    if (orphaned) {
      process.stderr.write(`runbook: ${orphaned}\n`);
      return EXIT.locked;
    }
    try {
      lease = store.acquire(model.lock, { run: runId, runbook: model.id, leaseMs, resume: !!resume, onWait: (m) => process.stderr.write(`runbook: ${m}\n`) });
    } catch (e) {
      if (e instanceof LockHeldError) {
        process.stderr.write(`runbook: ${e.message}\n`);
        return EXIT.locked;
      }
      if (store.kind === 'postgres') {
        process.stderr.write(`runbook: state store ${store.label}: cannot take lock '${model.lock}': ${(e as Error).message}\n`);
        return EXIT.invalid;
      }
      throw e;
    }
  }

  const user = safeUser();
  const listeners: EventListener[] = [];
  let decider: Decider = autoDecider({ yes: !!opts.yes, user, inflight: opts.rerunInflight ? 'rerun' : opts.skipInflight ? 'skip' : undefined });
  let tui: Awaited<ReturnType<typeof import('../tui/index.js').startTui>> | undefined;
  const term = guardTerminal(() => runId);
  if (opts.json) {
    listeners.push((e) => term.write(JSON.stringify(e) + '\n'));
  } else if (useTui) {
    const { startTui } = await loadWithColorLevel(outputColorLevel(opts.color), () => import('../tui/index.js'));
    const runHist = safe(() => runDurations(store, model.id));
    const phaseHist = safe(() => phaseDurations(store, model.id));
    tui = await startTui({
      stepMode: !!opts.step,
      yes: !!opts.yes,
      user,
      predicted: runHist ? { run_ms: runHist.p50, phases: Object.fromEntries([...(phaseHist ?? new Map())].map(([k, v]) => [k, v.p50])) } : undefined,
    });
    // a resumed run's view starts from the journal's earlier events: the original start, phases, steps
    for (const e of resume?.events ?? []) tui.push(e);
    listeners.push((e) => {
      if (!term.stdoutBroken) tui!.push(e);
    });
    const inner = tui.decider;
    // --rerun-inflight/--skip-inflight answer resume questions without asking.
    decider = opts.rerunInflight || opts.skipInflight ? { ...inner, decide: (r, s) => (r.kind === 'inflight' ? autoDecider({ yes: false, user, inflight: opts.rerunInflight ? 'rerun' : 'skip' }).decide(r, s) : inner.decide(r, s)) } : inner;
  } else {
    const tty = !!process.stdout.isTTY;
    let replaying = true;
    const print = createPlainPrinter((line) => void (replaying || term.write(line + '\n')), { color: outputColorLevel(opts.color) > 0, live: tty });
    // the printer learns the run's start, RTO and steps from the earlier events; of them it prints only the run's own line
    for (const e of resume?.events ?? []) {
      replaying = e.type !== 'run.started';
      print(e);
    }
    replaying = false;
    listeners.push(print);
  }

  const runOpts: RunOptions = {
    loaded,
    params,
    secrets: secrets.values,
    childSecrets: secrets.byFile,
    store,
    lease,
    decider,
    dryRun: !!opts.dryRun,
    drill: !!opts.drill,
    stepMode: !!opts.step,
    yes: !!opts.yes,
    listeners,
    runId,
    resume,
    maxParallel,
    ...(inventory ? { inventory } : {}),
  };
  let runner: Runner;
  try {
    runner = new Runner(runOpts);
  } catch (e) {
    lease?.release();
    await tui?.finish({});
    term.dispose();
    process.stderr.write(`runbook: ${(e as Error).message}\n`);
    return EXIT.invalid;
  }

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
    term.dispose();
    try {
      lease?.release();
    } catch {
      // a lease we cannot release passes by itself
    }
  }
  // What plan predicts for this run is kept with it (local store), for the report's "Plan Against
  // Actual". Made now, from the history without this run, rather than before the first step: reading
  // the last 20 journals is ~20 ms that a recovery should not wait for. A run whose process died is
  // predicted when its resume ends.
  if (store instanceof FileStore && !result.fenced) savePlan(store.dir, result.runId, loaded, params);
  const reportPath = result.fenced ? undefined : writeRunReport(store, result.runId);
  await tui?.finish({ reportPath });
  if (result.fenced) process.stderr.write(`runbook: run ${result.runId} stopped: it lost its lease (${result.fenced}); another runner may have taken it over (exit 5)\n`);
  else if (result.journalError) process.stderr.write(`runbook: ${result.journalError}\n`);
  if (!opts.json && !tui && reportPath) term.write(`report: ${reportPath}\n`);
  return result.exitCode;
}

function savePlan(stateDir: string, runId: string, loaded: Loaded, params: Record<string, unknown>): void {
  const file = join(stateDir, 'runs', runId, PLAN_FILE);
  // Kept once: a resume finds the prediction its run already has.
  if (existsSync(file)) return;
  try {
    const history = (id: string) => safe(() => stepDurations(stateDir, id, { exclude: runId }));
    const plan = buildPlan(loaded.model, { params, loaded, history: history(loaded.model.id), historyFor: history });
    writeAtomic(file, JSON.stringify(savedPlanOf(plan)) + '\n');
  } catch {
    // A prediction that cannot be made or kept never stops a recovery: the report then has no such section.
  }
}

function orphanedHolder(store: StateStore, lockName: string, resuming: string | undefined): string | undefined {
  // Only a local lock can be judged from here: the shared store's lease passes by itself (spec §10).
  if (store.kind !== 'file') return undefined;
  const holder = store.holder(lockName);
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

/** Every run becomes a report: `<state-dir>/runs/<id>/report.md` (file store), written whole (temp + rename). */
function writeRunReport(store: StateStore, runId: string): string | undefined {
  try {
    const path = store.reportFile(runId);
    if (!path) return undefined;
    writeAtomic(path, renderReport(readRunEvents(store, runId), 'md'));
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
