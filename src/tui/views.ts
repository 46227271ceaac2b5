/**
 * What the screen picks out of the state: the steps of a phase in display order, the rollback list,
 * which phase to show, and a window of a long step list. Pure, no ink/react.
 */
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

/** Steps whose rollback runs, or may still run, in the order rollbacks run: reverse order of start. */
export function listRollbacks(state: TuiState): StepView[] {
  return Object.values(state.steps)
    .filter((st) => st.rollback || (st.hasRollback && st.startSeq !== undefined))
    .sort((a, b) => (b.startSeq ?? 0) - (a.startSeq ?? 0));
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
