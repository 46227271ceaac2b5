/**
 * `runbook run` and `runbook resume`: one run from run.started to run.finished. Phases in order,
 * then on failure or abort the rollback per policy, then the deferred and run-level finally steps,
 * the measures, and the status with its exit code (spec §4, §5).
 */
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import { SecretMasker } from '../dsl/expr/index.js';
import type { Inventory } from '../inventory/index.js';
import type { LoadedRunbook } from '../dsl/validate.js';
import type { RunbookModel } from '../dsl/model.js';
import type { Decider } from './decisions.js';
import type { EventListener, RunEvent, RunStatus } from './events.js';
import { outlineOf } from './outline-hash.js';
import { decideInflight, restoreRun, type ResumeInput, type Restored } from './resume.js';
import { Emitter } from './emitter.js';
import { JournalUnwritableError } from './journal.js';
import { FileStore } from '../state/file/index.js';
import { journalPath } from '../state/file/read.js';
import { runnerHost } from '../state/host.js';
import type { JournalFailure, RunLease, StateStore } from '../state/types.js';
import { RunCancelled } from './timers.js';
import { ConnectionPool } from './connections.js';
import { RunContext, newLevel, phaseCtxOf, type Level } from './context.js';
import { runPhases, evaluateMeasures } from './phases.js';
import { runSection } from './scheduler.js';
import { runRollback } from './rollback.js';
import { newRunId } from './run-id.js';
import { formatMs } from './timers.js';
import { restoreLevel } from './restore.js';
import { killOrphans } from './orphans.js';
import { killAllShellGroups } from '../steps/shell/execute.js';
import { cleanUpRun, trackingRoot } from '../transport/local/track.js';

export const EXIT = { succeeded: 0, failed: 1, rolled_back: 1, invalid: 2, rollback_failed: 3, locked: 4, taken_over: 5, aborted: 130 } as const;

export function exitCodeOf(status: RunStatus): number {
  return EXIT[status];
}

export { ResumeError, type ResumeInput } from './resume.js';
export { outlineOf } from './outline-hash.js';

export interface RunOptions {
  loaded: LoadedRunbook & { model: RunbookModel };
  params: Record<string, unknown>;
  secrets: Record<string, string>;
  /** Secrets of sub-runbooks named by a literal file, by absolute file (readSecretsTree). */
  childSecrets?: Map<string, Record<string, string>>;
  /** The local store's folder (when no `store` is given). */
  stateDir?: string;
  /** Where the journal goes (spec §10); default the file store of `stateDir`. */
  store?: StateStore;
  /** The run's lock or lease, taken by the caller: its epoch stamps the journal, its loss stops the run (exit 5). */
  lease?: RunLease;
  decider: Decider;
  dryRun?: boolean;
  /** A real run that is a DR drill (`run --drill`): `run.started.drill`. */
  drill?: boolean;
  stepMode?: boolean;
  yes?: boolean;
  env?: NodeJS.ProcessEnv;
  listeners?: EventListener[];
  /** `resume`: the earlier process's events and run id, and the operator's resume options. */
  resume?: ResumeInput;
  runId?: string;
  /** `--max-parallel`: steps running at once in the whole run (default 64). */
  maxParallel?: number;
  /** The inventory for the ssh connections' `hosts` (`inventory:` or `--inventory`; spec §9). */
  inventory?: Inventory;
}

export interface RunResult {
  runId: string;
  status: RunStatus;
  exitCode: number;
  durationMs: number;
  /** The journal file (file store), or `<store>#<run id>`. */
  journal: string;
  rtoMet: boolean | null;
  /** Set when the lease was lost: another runner may have taken the run over (exit 5). */
  fenced?: string;
  /** Set when the journal could not be written (disk full, EIO): one line for the operator. */
  journalError?: string;
}

export class Runner {
  readonly runId: string;
  readonly ctx: RunContext;
  private readonly top: Level;
  private readonly journalFile: string;
  private restored: Restored | undefined;
  private fenced: string | undefined;
  private journalError: string | undefined;

  constructor(private readonly opts: RunOptions) {
    const model = opts.loaded.model;
    this.runId = opts.resume?.runId ?? opts.runId ?? newRunId(model.id);
    const store = opts.store ?? new FileStore(opts.stateDir ?? '.runbook');
    this.journalFile = store instanceof FileStore ? journalPath(store.dir, this.runId) : `${store.label}#${this.runId}`;
    const allSecrets = [opts.secrets, ...(opts.childSecrets?.values() ?? [])].flatMap((m) => Object.values(m));
    const masker = new SecretMasker(allSecrets.filter((v) => v.length > 0));
    const journal = store.openJournal(this.runId, { epoch: opts.lease?.epoch ?? 0, runbook: model.id, onFailure: (f) => this.journalFailed(f) });
    const emitter = new Emitter(this.runId, journal, masker);
    for (const l of opts.listeners ?? []) emitter.on(l);
    const env = opts.env ?? process.env;
    const startedEvent = opts.resume?.events.find((e) => e.type === 'run.started');
    const startedAt = startedEvent ? Date.parse(startedEvent.ts) : Date.now();
    this.ctx = new RunContext(
      this.runId,
      emitter,
      opts.decider,
      { dryRun: !!opts.dryRun, stepMode: !!opts.stepMode, yes: !!opts.yes, env, secrets: opts.secrets, childSecrets: opts.childSecrets ?? new Map(), maxParallel: opts.maxParallel, inventory: opts.inventory },
      startedAt,
    );
    if (opts.resume) {
      this.ctx.held = [];
      this.restored = restoreRun(this.ctx, opts.loaded, opts.resume);
    }
    const top: Level = newLevel(
      model,
      opts.loaded,
      opts.params,
      new ConnectionPool(model, () => this.ctx.scope(top), { runId: this.runId, baseDir: model.baseDir, env, masker, services: this.ctx.services }),
    );
    this.top = top;
    restoreLevel(this.ctx, top);
    opts.lease?.onLost((reason) => this.fence(reason));
  }

  /**
   * The lease is lost (spec §10): another runner may own the run now. Start nothing more, cancel
   * what runs (its process groups are killed through the signals), no rollback, no finally, and
   * nothing more in the journal: the run ends here with exit 5.
   */
  fence(reason: string): void {
    if (this.fenced) return;
    this.fenced = reason;
    const { ctx } = this;
    ctx.emitter.seal();
    const why = new RunCancelled(`the lease was lost: ${reason}`);
    if (!ctx.aborted) ctx.aborted = { by: 'fencing', rollback: false };
    for (const c of [ctx.runAbort, ctx.rollbackAbort, ctx.finallyAbort]) if (!c.signal.aborted) c.abort(why);
  }

  /** A journal that cannot take writes: fenced → stop as above; full → no new step, the rollback still runs (spec §12). */
  private journalFailed(f: JournalFailure): void {
    if (f.kind === 'fenced') return this.fence(f.message);
    if (this.journalError) return;
    this.journalError = f.message;
    // Synchronously, inside the flush that failed: the step about to start sees the run failed.
    this.ctx?.fail(f.message);
    queueMicrotask(() => {
      if (!this.ctx.emitter.closed) this.ctx.emitter.emit({ type: 'warning', code: 'JOURNAL_FULL', message: f.message });
    });
  }

  private stopped(runError?: string): RunResult {
    killAllShellGroups('SIGKILL');
    try {
      this.ctx.emitter.close();
    } catch {
      // the journal is what failed
    }
    const status: RunStatus = this.fenced ? 'aborted' : 'failed';
    return {
      runId: this.runId,
      status,
      exitCode: this.fenced ? EXIT.taken_over : exitCodeOf(status),
      durationMs: Date.now() - this.ctx.startedAt,
      journal: this.journalFile,
      rtoMet: null,
      ...(this.fenced ? { fenced: this.fenced } : {}),
      ...(this.journalError || runError ? { journalError: this.journalError ?? runError } : {}),
    };
  }

  /** Operator or signal abort: the first rolls back per policy, the second skips the rollback. */
  abort(by: string, opts: { rollback: boolean }): void {
    const { ctx } = this;
    const before = { aborted: !!ctx.aborted, rollbackSkipped: ctx.rollbackAbort.signal.aborted, finallyCancelled: ctx.finallyAbort.signal.aborted };
    ctx.abort(by, opts.rollback);
    // Journal what the signal did (spec §4: "cancel running steps, journal it"), durably at once.
    let message: string | undefined;
    let code = 'ABORT';
    if (!before.aborted && ctx.aborted) {
      message = `aborted by ${by}: running steps are cancelled, then the rollback runs (${this.top.model.rollback}); a second signal skips it`;
    } else if (!before.rollbackSkipped && ctx.rollbackAbort.signal.aborted) {
      code = 'ROLLBACK_SKIPPED';
      message = `${by}: the rollback is skipped (a running rollback is cancelled); finally steps still run, a third signal cancels them`;
    } else if (!before.finallyCancelled && ctx.finallyAbort.signal.aborted) {
      code = 'FINALLY_CANCELLED';
      message = `${by}: finally steps are cancelled`;
    }
    if (message && !ctx.emitter.closed) {
      ctx.emitter.emit({ type: 'warning', code, message });
      try {
        ctx.emitter.flush();
      } catch {
        // A signal while the journal is failing or fenced: run() reports that, once.
      }
    }
  }

  async run(): Promise<RunResult> {
    const { ctx, top } = this;
    const model = top.model;
    const em = ctx.emitter;
    if (this.opts.resume) {
      // Decided before anything runs again: a missing answer stops here (ResumeError, exit 2).
      const questions = await decideInflight(ctx, this.opts.loaded);
      const restored = this.restored!;
      const orphans = await killOrphans(this.runId);
      em.emit({
        type: 'run.resumed',
        pid: process.pid,
        host: runnerHost(),
        ...(this.opts.lease?.epoch ? { epoch: this.opts.lease.epoch } : {}),
        inflight: questions.listed,
        ...(restored.changed.length ? { changed: restored.changed } : {}),
      });
      for (const m of restored.markedDone) em.emit(m.approval), em.emit(m.finished);
      for (const [step, decision] of ctx.inflightDecisions) {
        em.emit({ type: 'approval', step, ...ctx.tagsOf(step), decision, by: ctx.decider.user, message: 'was running when the process died' });
      }
      for (const [step, decision] of ctx.rollbackDecisions) {
        em.emit({ type: 'approval', step, ...ctx.tagsOf(step), decision, by: ctx.decider.user, message: 'its rollback was running when the process died' });
      }
      for (const e of ctx.held ?? []) em.emit(e);
      ctx.held = undefined;
      if (orphans.length) {
        em.emit({
          type: 'warning',
          code: 'ORPHANS_KILLED',
          message: `killed ${orphans.length} process(es) left running by the dead interpreter: ${orphans.map((o) => `${o.pid} (${o.step ?? '?'}: ${o.command})`).join(', ')}`,
        });
      }
    } else {
      em.emit({
        type: 'run.started',
        runbook: model.id,
        ...(model.title ? { title: model.title } : {}),
        ...(model.severity ? { severity: model.severity } : {}),
        file: resolve(model.file),
        params: this.opts.params,
        objectives: model.objectives,
        dry_run: ctx.settings.dryRun,
        ...(this.opts.drill ? { drill: true } : {}),
        ...(model.kind ? { kind: model.kind } : {}),
        outline: outlineOf(model, this.opts.loaded),
        pid: process.pid,
        host: ctx.host,
        user: safeUser(),
      });
    }
    try {
      em.flush();
    } catch (e) {
      // Nothing has run: no step starts without a journal.
      if (e instanceof JournalUnwritableError || this.fenced) return this.stopped((e as Error).message);
      throw e;
    }

    const rto = model.objectives.rto_ms;
    const rtoLeft = rto === undefined ? undefined : rto - (Date.now() - ctx.startedAt);
    const rtoTimer =
      rtoLeft === undefined
        ? undefined
        : setTimeout(() => {
            const abort = model.objectives.on_exceeded === 'abort';
            em.emit({ type: 'warning', code: 'RTO_EXCEEDED', message: `the RTO of ${formatMs(rto!)} has passed${abort ? ': aborting (on_exceeded: abort)' : ''}` });
            if (abort) ctx.fail(`the RTO of ${formatMs(rto!)} was exceeded`);
          }, Math.max(0, rtoLeft));

    let status: RunStatus = 'succeeded';
    let runError: string | undefined;
    // Probe process tracking once now, not in the middle of the first step's spawn.
    if (!ctx.settings.dryRun) trackingRoot();
    try {
      await runPhases(ctx, top);
      const failedMain = ctx.failure;
      const aborted = ctx.aborted;
      if (failedMain || aborted) {
        ctx.stage = 'rollback';
        const r = await runRollback(ctx, model.rollback);
        // A signal during the rollback stage counts as an abort too (the run had already failed).
        const abortedNow = ctx.aborted;
        if (r.failed > 0) status = 'rollback_failed';
        else if (abortedNow) status = 'aborted';
        else status = r.ran > 0 ? 'rolled_back' : 'failed';
        runError = failedMain?.error ?? (abortedNow ? `aborted by ${abortedNow.by}` : undefined);
        if (r.skipped > 0) runError = `${runError ?? 'aborted'}; rollback skipped by the operator (${r.skipped} rollback(s) not run or cut short)`;
      }
      // Finally: deferred phase finally sections (failed phases, innermost first), then the run's.
      ctx.stage = 'finally';
      const failureBeforeFinally = ctx.failure;
      for (const d of ctx.deferredFinally) await runSection(ctx, d.level, d.steps, d.phase, { untilStopped: false });
      if (model.finally.length) await runSection(ctx, top, model.finally, phaseCtxOf(top, { id: 'finally' }), { untilStopped: false });
      if (status === 'succeeded' && ctx.failure && ctx.failure !== failureBeforeFinally) {
        status = 'failed';
        runError = ctx.failure.error;
      }
    } catch (e) {
      status = 'failed';
      if (this.fenced) runError = `the lease was lost: ${this.fenced}`;
      else if (e instanceof JournalUnwritableError) runError = this.journalError = e.message;
      else runError = `internal error: ${(e as Error).stack ?? e}`;
    } finally {
      if (rtoTimer) clearTimeout(rtoTimer);
      killAllShellGroups('SIGKILL');
      // Empty cgroup folders of this run go; a detached service's stays (spec §12).
      const root = trackingRoot();
      if (root !== undefined) cleanUpRun(root, this.runId);
      await top.connections.closeAll();
      for (const pool of ctx.extraPools) await pool.closeAll();
      // Last: tunnels and Docker sockets ride on these; kills owed after a lost connection get their
      // chance. The run ends here, unless fenced (another runner may resume it: it needs the hosts' records).
      await ctx.services.ssh.close(10_000, { forget: !this.fenced && !this.journalError && !ctx.settings.dryRun });
    }
    if (this.fenced) return this.stopped();
    const measures = evaluateMeasures(ctx, top);
    const duration = Date.now() - ctx.startedAt;
    const rtoMet = ctx.settings.dryRun || rto === undefined ? null : status === 'succeeded' && duration <= rto;
    em.emit({
      type: 'run.finished',
      status,
      duration_ms: duration,
      ...(rto !== undefined ? { rto_ms: rto } : {}),
      rto_met: rtoMet,
      measures,
      ...(runError ? { error: runError } : {}),
    });
    try {
      em.close();
    } catch (e) {
      if (!(e instanceof JournalUnwritableError) && !this.fenced) throw e;
      this.journalError ??= (e as Error).message;
    }
    if (this.fenced) return this.stopped();
    return {
      runId: this.runId,
      status,
      exitCode: exitCodeOf(status),
      durationMs: duration,
      journal: this.journalFile,
      rtoMet,
      ...(this.journalError ? { journalError: this.journalError } : {}),
    };
  }

}

export function safeUser(): string {
  try {
    return process.env.RUNBOOK_USER ?? userInfo().username;
  } catch {
    return process.env.USER ?? 'unknown';
  }
}
