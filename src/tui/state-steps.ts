/**
 * The step rows of the TUI state as a tree of instances (spec §8): a for_each item `x[1]` hangs under
 * its step `x`, a sub-runbook step `x[1].healthy` under the instance that runs the sub-runbook. Rows
 * are keyed by the address the events carry; nothing here rebuilds an address.
 */
import { instanceKey } from '../interpreter/address.js';
import { treeDepth, treeParent } from '../interpreter/address-tree.js';
import type { PhaseView, StepView, TuiState } from './state.js';

/** Output lines kept per step: the log pane shows the tail; the journal keeps everything. */
export const MAX_LINES = 500;

export function newStep(id: string, phase: string, type: string): StepView {
  return { id, phase, type, depth: treeDepth(id), needs: [], hasRollback: false, status: 'pending', attempt: 0, lines: [], lineCount: 0, children: [] };
}

/** The nearest row that `id` is nested in (its parent, or a further ancestor), if any is known. */
export function knownAncestor(steps: TuiState['steps'], id: string): StepView | undefined {
  for (let p = treeParent(id); p !== undefined; p = treeParent(p)) if (steps[p]) return steps[p];
  return undefined;
}

/**
 * The row of `id`, created (with any missing rows between it and a known ancestor) when the outline
 * does not have it: items, sub-runbook steps, `finally` steps. `s.steps` must be a fresh copy.
 * An instance takes its step's type and rollback; a row with no known ancestor joins `phase`.
 */
export function ensureStep(s: TuiState, id: string, phase: string, type = ''): StepView {
  const found = s.steps[id];
  if (found) return found;
  const parentId = treeParent(id);
  const parent = parentId !== undefined && knownAncestor(s.steps, id) ? ensureStep(s, parentId, phase) : undefined;
  const key = instanceKey(id);
  const step = newStep(id, parent?.phase ?? phase, type || (key !== undefined && parent ? parent.type : ''));
  if (key !== undefined) {
    step.key = key;
    step.hasRollback = parent?.hasRollback ?? false;
  }
  if (parent) s.steps[parent.id] = { ...parent, children: [...parent.children, id] };
  else s.phases = upsertPhase(s.phases, phase, (p) => ({ ...p, steps: [...p.steps, id] }));
  s.steps[id] = step;
  return step;
}

/** A for_each step whose first item starts is running from then on, until its aggregate step.finished. `s.steps` must be a fresh copy. */
export function startParent(s: TuiState, id: string, at: number): void {
  if (instanceKey(id) === undefined) return;
  const parent = s.steps[treeParent(id)!];
  if (!parent || parent.status !== 'pending') return;
  s.steps[parent.id] = { ...parent, status: 'running', startedAt: at, startSeq: parent.startSeq ?? ++s.seq };
}

export function upsertPhase(phases: PhaseView[], id: string, update: (p: PhaseView) => PhaseView): PhaseView[] {
  const i = phases.findIndex((p) => p.id === id);
  if (i < 0) return [...phases, update({ id, status: 'pending', steps: [] })];
  const next = [...phases];
  next[i] = update(phases[i]);
  return next;
}

export function appendLines(step: StepView, lines: string[]): StepView {
  const kept = step.lines.length + lines.length > MAX_LINES ? [...step.lines.slice(-MAX_LINES), ...lines.slice(-MAX_LINES)].slice(-MAX_LINES) : [...step.lines, ...lines];
  return { ...step, lines: kept, lineCount: step.lineCount + lines.length };
}

/**
 * A section without phase events of its own (the run's `finally` steps arrive under a `finally`
 * phase): its status and time are those of its steps.
 */
export function phaseFromSteps(p: PhaseView, steps: TuiState['steps']): PhaseView {
  const ran = p.steps.map((id) => steps[id]).filter((st) => st && st.status !== 'pending' && st.startedAt !== undefined);
  if (!ran.length) return p;
  const start = Math.min(...ran.map((st) => st.startedAt!));
  const end = Math.max(...ran.map((st) => st.startedAt! + (st.durationMs ?? 0)));
  const failed = ran.some((st) => st.status === 'failed' || st.status === 'timed_out');
  return { ...p, status: failed ? 'failed' : 'succeeded', startedAt: start, durationMs: end - start };
}

/** An item's value as one short line (the interpreter has already masked secrets in it). */
export function itemText(item: unknown): string | undefined {
  if (item === undefined) return undefined;
  const text = typeof item === 'string' ? item : JSON.stringify(item);
  return text.replace(/\s+/g, ' ');
}
