/**
 * What the screen picks out of the state: the steps of a phase in display order, the rollback list,
 * which phase to show, and a window of a long step list. Pure, no ink/react.
 */
import type { StepFinishedEvent, StepStatus } from '../interpreter/events.js';
import { treeParent } from '../interpreter/address-tree.js';
import type { StepView, TuiState } from './state.js';

/** Steps of a phase in display order, sub-runbook steps right under their parent. */
export function listPhaseSteps(state: TuiState, phaseId: string | undefined): StepView[] {
  const phase = state.phases.find((p) => p.id === phaseId);
  if (!phase) return [];
  const out: StepView[] = [];
  const visit = (id: string) => {
    const st = state.steps[id];
    if (!st) return;
    out.push(st);
    for (const c of st.children) visit(c);
  };
  for (const id of phase.steps) visit(id);
  return out;
}

/**
 * Rows whose rollback runs, or may still run, in the order rollbacks run: reverse order of start. A
 * for_each step is rolled back per item: its items are listed, not the step.
 */
export function listRollbacks(state: TuiState): StepView[] {
  return Object.values(state.steps)
    .filter((st) => st.rollback || (st.hasRollback && st.startSeq !== undefined && !hasItems(state, st)))
    .sort((a, b) => (b.startSeq ?? 0) - (a.startSeq ?? 0));
}

function hasItems(state: TuiState, st: StepView): boolean {
  return st.children.some((c) => state.steps[c]?.key !== undefined);
}

const COUNTED: (keyof NonNullable<StepFinishedEvent['items']> | 'running')[] = ['running', 'succeeded', 'failed', 'timed_out', 'skipped', 'cancelled'];

/**
 * How the items of a for_each step stand: `3 succeeded, 1 failed` — the aggregate step.finished once
 * it is there, else counted from the item rows (running ones too). Empty for a step without items.
 */
export function describeItems(state: TuiState, st: StepView): string {
  let counts: Partial<Record<StepStatus, number>> | undefined = st.items;
  if (!counts) {
    const items = st.children.map((c) => state.steps[c]).filter((c) => c?.key !== undefined);
    if (!items.length) return '';
    counts = {};
    for (const it of items) counts[it.status] = (counts[it.status] ?? 0) + 1;
  }
  return formatCounts(counts);
}

/** `3 succeeded, 1 timed out` (zero counts left out); `no items` when all are zero. */
export function formatCounts(counts: Partial<Record<StepStatus, number>>): string {
  const parts = COUNTED.filter((k) => (counts[k] ?? 0) > 0).map((k) => `${counts[k]} ${k.replace('_', ' ')}`);
  return parts.length ? parts.join(', ') : 'no items';
}

/** A row's label: an instance by its key (`[1]`), a sub-runbook step by its own id, a step by its id. */
export function rowLabel(st: StepView): string {
  if (st.key !== undefined) return `[${st.key}]`;
  const parent = treeParent(st.id);
  // v1 journals put the for_each index on the step's own row
  const label = parent === undefined ? st.id : st.id.slice(parent.length + 1);
  return st.index !== undefined && st.status === 'running' && !st.id.includes('[') ? `${label}[${st.index}]` : label;
}

/** The phase whose steps the screen shows: the running one, else the one started last. */
export function pickShownPhase(state: TuiState): string | undefined {
  return state.phases.find((p) => p.status === 'running')?.id ?? state.currentPhase ?? state.phases[0]?.id;
}

/**
 * At most `max` rows of a long step list, so the frame fits the terminal (a frame taller than the
 * screen makes ink clear it on every redraw). The window starts at the first step still of interest
 * (running, failed, or `keep`), finished steps above and steps below are counted, not drawn.
 */
export function windowSteps(steps: StepView[], max: number, keep?: string): { shown: StepView[]; above: number; below: number } {
  if (steps.length <= max) return { shown: steps, above: 0, below: 0 };
  const rows = Math.max(1, max);
  const interesting = steps.findIndex((s) => s.status === 'running' || s.status === 'failed' || s.status === 'timed_out' || s.status === 'pending');
  const kept = keep ? steps.findIndex((s) => s.id === keep) : -1;
  let start = interesting < 0 ? steps.length - rows : interesting;
  if (kept >= 0 && (kept < start || kept >= start + rows)) start = kept;
  start = Math.max(0, Math.min(start, steps.length - rows));
  return { shown: steps.slice(start, start + rows), above: start, below: steps.length - start - rows };
}
