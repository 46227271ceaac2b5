/**
 * `runbook resume`: rebuild what the dead process knew (instances.ts), refuse edited runbooks without
 * `--accept-changes`, apply `--mark-done`, and ask — once, before anything runs — what to do with each
 * instance or rollback that was running when the process died (spec §8).
 */
import type { LoadedRunbook } from '../dsl/validate.js';
import type { EventInput, RunEvent, RunStartedEvent } from './events.js';
import type { RunContext } from './context.js';
import { inflightInstances, inflightRollbacks, replayJournal } from './instances.js';
import { instanceKey, parentAddress, phaseAddress } from './address.js';
import { changedSteps, outlineOf } from './outline-hash.js';
import { stepModelOf } from './restore.js';
import { findOrphans } from './orphans.js';

/** `resume` cannot continue without an operator's answer (exit 2; nothing was executed). */
export class ResumeError extends Error {
  override readonly name = 'ResumeError';
}

export interface ResumeInput {
  runId: string;
  events: RunEvent[];
  /** `--accept-changes`: resume although step definitions changed since the crash. */
  acceptChanges?: boolean;
  /** `--mark-done <address> --reason …`: instances an operator finished by hand. */
  markDone?: { address: string; reason: string }[];
}

export type InflightEntry = { step: string; decision: 'rerun' | 'skip'; rollback?: boolean };

export interface Restored {
  /** Steps whose definition changed since the crash (accepted with --accept-changes). */
  changed: string[];
  /** `--mark-done`: the approval and step.finished to journal once the run continues. */
  markedDone: { approval: EventInput; finished: EventInput }[];
}

/**
 * Resume: ask (once, before anything runs) what to do with each non-idempotent instance — or
 * rollback — that was running when the process died. `--rerun-inflight`/`--skip-inflight` answer
 * without asking; a non-interactive resume without them throws ResumeError (the CLI exits 2,
 * nothing executed). Instances in a sub-runbook named by an expression are asked when reached.
 * Instances of a run that had already failed are not run again (except finally steps), so nothing is asked for them.
 */
export async function decideInflight(ctx: RunContext, loaded: LoadedRunbook): Promise<{ listed: InflightEntry[] }> {
  const listed: InflightEntry[] = [];
  const questions: { step: string; rollback: boolean }[] = [];
  for (const rec of inflightInstances(ctx.replay)) {
    const m = stepModelOf(loaded, rec.address);
    if (!m || m.type === 'runbook' || ((m.for_each || m.on) && instanceKey(rec.address) === undefined)) continue;
    // A shell command on a host ran under the wrapper: what the host recorded settles it (fan-out.ts).
    if (m.on && m.type === 'shell') continue;
    // A failing run starts no new step, but its finally steps still run.
    if (ctx.stopping && m.section === 'steps') continue;
    if (m.idempotent) listed.push({ step: rec.address, decision: 'rerun' });
    else questions.push({ step: rec.address, rollback: false });
  }
  for (const rec of inflightRollbacks(ctx.replay)) {
    const m = stepModelOf(loaded, rec.address);
    if (!m?.rollback) continue;
    if (m.rollback.idempotent) listed.push({ step: rec.address, decision: 'rerun', rollback: true });
    else questions.push({ step: rec.address, rollback: true });
  }
  const missing: { step: string; rollback: boolean }[] = [];
  // Killed before anything runs again, whatever the answers: each question says which are its instance's.
  const orphans = findOrphans(ctx.runId);
  for (const q of questions) {
    try {
      const running = orphans.filter((o) => o.step === q.step).map((o) => `pid ${o.pid} ${o.command}`);
      const answer = await ctx.decider.decide(
        { kind: 'inflight', step: q.step, ...(q.rollback ? { rollback: true } : {}), ...(running.length ? { running } : {}) },
        ctx.runAbort.signal,
      );
      if (answer.kind !== 'inflight') throw new Error('no answer');
      (q.rollback ? ctx.rollbackDecisions : ctx.inflightDecisions).set(q.step, answer.action);
      listed.push({ step: q.step, decision: answer.action, ...(q.rollback ? { rollback: true } : {}) });
    } catch {
      missing.push(q);
    }
  }
  if (missing.length) {
    const names = missing.map((q) => (q.rollback ? `the rollback of step '${q.step}'` : `step '${q.step}'`));
    throw new ResumeError(
      `${names.join(', ')} ${missing.length > 1 ? 'were' : 'was'} running when the process died and ${missing.length > 1 ? 'are' : 'is'} not idempotent: ` +
        `check what ${missing.length > 1 ? 'they' : 'it'} did, then resume with --rerun-inflight (run again) or --skip-inflight (record as skipped)` +
        (orphans.length ? `\nstill running from the dead process (resume kills them): ${orphans.map((o) => `pid ${o.pid} [${o.step ?? '?'}] ${o.command}`).join('; ')}` : ''),
    );
  }
  return { listed };
}


/** Rebuild what the earlier process knew, per instance address (instances.ts). */
export function restoreRun(ctx: RunContext, loaded: LoadedRunbook, resume: ResumeInput): Restored {
  const out: Restored = { changed: [], markedDone: [] };
  const { events } = resume;
  const done = events.find((e) => e.type === 'run.finished');
  if (done && done.type === 'run.finished') throw new Error(`run ${ctx.runId} already finished (${done.status}); nothing to resume`);
  const model = loaded.model!;
  const startedEvent = events.find((e): e is RunStartedEvent => e.type === 'run.started');
  out.changed = changedSteps(startedEvent?.outline, outlineOf(model, loaded));
  if (out.changed.length && !resume.acceptChanges) {
    throw new ResumeError(
      `the runbook changed since the run was started: ${out.changed.map((s) => `'${s}'`).join(', ')} ${out.changed.length > 1 ? 'are' : 'is'} not defined as when ${out.changed.length > 1 ? 'they' : 'it'} ran; ` +
        `check the changes, then resume with --accept-changes`,
    );
  }
  let replay = replayJournal(events);
  if (resume.markDone?.length) {
    const extra: RunEvent[] = [];
    const ts = new Date().toISOString();
    for (const { address, reason } of resume.markDone) {
      const m = stepModelOf(loaded, address);
      if (!m) throw new ResumeError(`--mark-done ${address}: no such step instance in this runbook`);
      const rec = replay.instances.get(address);
      if (rec?.finished && !rec.inflight && rec.finished.status === 'succeeded') throw new ResumeError(`--mark-done ${address}: it already succeeded`);
      const key = instanceKey(address);
      const tags = typeof key === 'number' ? { index: key } : {};
      const approval: EventInput = { type: 'approval', step: address, ...tags, decision: 'marked_done', by: ctx.decider.user, message: reason };
      const finished: EventInput = {
        type: 'step.finished',
        step: address,
        ...tags,
        phase: phaseAddress(parentAddress(address), m.phase),
        status: 'succeeded',
        attempts: 0,
        duration_ms: 0,
        outputs: {},
        marked_done: true,
        where: m.where,
      };
      out.markedDone.push({ approval, finished });
      extra.push({ ts, run: ctx.runId, ...finished } as RunEvent);
    }
    replay = replayJournal([...events, ...extra]);
  }
  ctx.replay = replay;
  // An abort the dead process had received still holds: the run goes on to its rollback.
  if (replay.aborted) {
    ctx.abort(replay.aborted.by, true);
    if (!replay.aborted.rollback) ctx.abort(replay.aborted.by, false);
  }
  return out;
}
