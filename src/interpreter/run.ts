/**
 * `runbook run` and `runbook resume`: one run from run.started to run.finished. Phases in order,
 * then on failure or abort the rollback per policy, then the deferred and run-level finally steps,
 * the measures, and the status with its exit code (spec §4, §5).
 */
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import { SecretMasker } from '../dsl/expr/index.js';
import type { LoadedRunbook } from '../dsl/validate.js';
import type { RunbookModel } from '../dsl/model.js';
import type { Decider } from './decisions.js';
import type { EventListener, OutlinePhase, RunEvent, RunStatus } from './events.js';
import { Emitter } from './emitter.js';
import { JournalWriter, journalPath } from './journal.js';
import { ConnectionPool } from './connections.js';
import { RunContext, newLevel, phaseCtxOf, type Level } from './context.js';
import { runPhases, evaluateMeasures } from './phases.js';
import { runSection } from './scheduler.js';
import { runRollback } from './rollback.js';
import { newRunId } from './run-id.js';
import { formatMs } from './timers.js';
import { restoreLevel, stepModelOf } from './restore.js';
import { findOrphans, killOrphans } from './orphans.js';
import { killAllShellGroups } from '../steps/shell/index.js';

export const EXIT = { succeeded: 0, failed: 1, rolled_back: 1, invalid: 2, rollback_failed: 3, locked: 4, aborted: 130 } as const;

export function exitCodeOf(status: RunStatus): number {
  return EXIT[status];
}

/** `resume` cannot continue without an operator's answer (exit 2; nothing was executed). */
export class ResumeError extends Error {
  override readonly name = 'ResumeError';
}

export interface RunOptions {
  loaded: LoadedRunbook & { model: RunbookModel };
  params: Record<string, unknown>;
  secrets: Record<string, string>;
  /** Secrets of sub-runbooks named by a literal file, by absolute file (readSecretsTree). */
  childSecrets?: Map<string, Record<string, string>>;
  stateDir: string;
  decider: Decider;
  dryRun?: boolean;
  stepMode?: boolean;
  yes?: boolean;
  env?: NodeJS.ProcessEnv;
  listeners?: EventListener[];
  /** `resume`: the earlier process's events and run id. */
  resume?: { runId: string; events: RunEvent[] };
  runId?: string;
  /** `--max-parallel`: steps running at once in the whole run (default 64). */
  maxParallel?: number;
}

export interface RunResult {
  runId: string;
  status: RunStatus;
  exitCode: number;
  durationMs: number;
  journal: string;
  rtoMet: boolean | null;
}

export class Runner {
  readonly runId: string;
  readonly ctx: RunContext;
  private readonly top: Level;
  private readonly journalFile: string;

  constructor(private readonly opts: RunOptions) {
    const model = opts.loaded.model;
    this.runId = opts.resume?.runId ?? opts.runId ?? newRunId(model.id);
    this.journalFile = journalPath(opts.stateDir, this.runId);
    const allSecrets = [opts.secrets, ...(opts.childSecrets?.values() ?? [])].flatMap((m) => Object.values(m));
    const masker = new SecretMasker(allSecrets.filter((v) => v.length > 0));
    const emitter = new Emitter(this.runId, JournalWriter.open(this.journalFile), masker);
    for (const l of opts.listeners ?? []) emitter.on(l);
    const env = opts.env ?? process.env;
    const startedEvent = opts.resume?.events.find((e) => e.type === 'run.started');
    const startedAt = startedEvent ? Date.parse(startedEvent.ts) : Date.now();
    this.ctx = new RunContext(
      this.runId,
      emitter,
      opts.decider,
      { dryRun: !!opts.dryRun, stepMode: !!opts.stepMode, yes: !!opts.yes, env, secrets: opts.secrets, childSecrets: opts.childSecrets ?? new Map(), maxParallel: opts.maxParallel },
      startedAt,
    );
    if (opts.resume) this.restore(opts.resume.events);
    const top: Level = newLevel(
      model,
      opts.loaded,
      opts.params,
      new ConnectionPool(model, () => this.ctx.scope(top), { runId: this.runId, baseDir: model.baseDir, env }),
    );
    this.top = top;
    restoreLevel(this.ctx, top);
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
      ctx.emitter.flush();
    }
  }

  async run(): Promise<RunResult> {
    const { ctx, top } = this;
    const model = top.model;
    const em = ctx.emitter;
    if (this.opts.resume) {
      // Decided before anything runs again: a missing answer stops here (ResumeError, exit 2).
      await this.decideInflight();
      const orphans = await killOrphans(this.runId);
      em.emit({
        type: 'run.resumed',
        pid: process.pid,
        inflight: [...ctx.inflight]
          .filter((step) => !step.includes('.') || ctx.inflightDecisions.has(step) || stepModelOf(this.opts.loaded, step)?.idempotent)
          .map((step) => ({ step, decision: ctx.inflightDecisions.get(step) ?? ('rerun' as const) })),
      });
      for (const [step, decision] of ctx.inflightDecisions) {
        em.emit({ type: 'approval', step, decision, by: ctx.decider.user, message: 'was running when the process died' });
      }
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
        outline: outlineOf(model),
        pid: process.pid,
        host: ctx.host,
        user: safeUser(),
      });
    }
    em.flush();

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
      runError = `internal error: ${(e as Error).stack ?? e}`;
    } finally {
      if (rtoTimer) clearTimeout(rtoTimer);
      killAllShellGroups('SIGKILL');
      await top.connections.closeAll();
    }
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
    em.close();
    return { runId: this.runId, status, exitCode: exitCodeOf(status), durationMs: duration, journal: this.journalFile, rtoMet };
  }

  /**
   * Resume: ask (once, before anything runs) what to do with each non-idempotent step that was
   * running when the process died. `--rerun-inflight`/`--skip-inflight` answer without asking; a
   * non-interactive resume without them throws ResumeError (the CLI exits 2, nothing executed).
   * Nested steps of a sub-runbook named by an expression are asked when reached instead.
   */
  private async decideInflight(): Promise<void> {
    const { ctx } = this;
    const questions: string[] = [];
    for (const id of ctx.inflight) {
      const m = stepModelOf(this.opts.loaded, id);
      if (!m || m.idempotent || m.type === 'runbook') continue;
      questions.push(id);
    }
    const missing: string[] = [];
    for (const step of questions) {
      try {
        const answer = await ctx.decider.decide({ kind: 'inflight', step }, ctx.runAbort.signal);
        if (answer.kind !== 'inflight') throw new Error('no answer');
        ctx.inflightDecisions.set(step, answer.action);
      } catch {
        missing.push(step);
      }
    }
    if (missing.length) {
      const orphans = findOrphans(this.runId);
      throw new ResumeError(
        `${missing.map((s) => `step '${s}'`).join(', ')} ${missing.length > 1 ? 'were' : 'was'} running when the process died and ${missing.length > 1 ? 'are' : 'is'} not idempotent: ` +
          `check what ${missing.length > 1 ? 'they' : 'it'} did, then resume with --rerun-inflight (run again) or --skip-inflight (record as skipped)` +
          (orphans.length ? `\nstill running from the dead process (resume kills them): ${orphans.map((o) => `pid ${o.pid} [${o.step ?? '?'}] ${o.command}`).join('; ')}` : ''),
      );
    }
  }

  /** Rebuild what the earlier process knew: finished steps, in-flight steps, finished phases, rollbacks. */
  private restore(events: RunEvent[]): void {
    const { ctx } = this;
    const open = new Map<string, number>();
    let order = 0;
    for (const e of events) {
      if (e.type === 'step.started') {
        open.set(e.step, order);
        if (!ctx.restoredStartOrder.has(e.step)) ctx.restoredStartOrder.set(e.step, ++order);
      } else if (e.type === 'step.finished') {
        open.delete(e.step);
        ctx.restored.set(e.step, e);
      } else if (e.type === 'phase.finished' && e.status === 'succeeded') ctx.restoredPhases.add(e.phase);
      else if (e.type === 'rollback.finished') ctx.rolledBack.add(e.step);
      else if (e.type === 'run.finished') throw new Error(`run ${this.runId} already finished (${e.status}); nothing to resume`);
    }
    for (const id of open.keys()) ctx.inflight.add(id);
  }
}

export function outlineOf(model: RunbookModel): OutlinePhase[] {
  return model.phases.map((p) => ({
    id: p.id,
    ...(p.title ? { title: p.title } : {}),
    ...(p.budget_ms !== undefined ? { budget_ms: p.budget_ms } : {}),
    steps: [...p.steps, ...p.finally].map((s) => ({
      id: s.id,
      ...(s.title ? { title: s.title } : {}),
      type: s.type,
      needs: s.needs,
      has_rollback: !!s.rollback,
      where: s.where,
      ...(s.estimate_ms !== undefined ? { estimate_ms: s.estimate_ms } : {}),
    })),
  }));
}

export function safeUser(): string {
  try {
    return process.env.RUNBOOK_USER ?? userInfo().username;
  } catch {
    return process.env.USER ?? 'unknown';
  }
}
