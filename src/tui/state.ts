/**
 * The TUI's view of a run: `reduce(state, event)` folds the event stream into what the screen shows.
 * Pure (no ink/react, no clock): the same journal always gives the same state, so it is tested alone
 * and a replayed journal draws the same screen as the live run did.
 */
import type { PhaseStatus, RunEvent, RunStatus, StepFinishedEvent, StepStatus } from '../interpreter/events.js';
import { splitLines } from './format.js';
import { MAX_LINES, appendLines, ensureStep, itemText, knownAncestor, newStep, phaseFromSteps, startParent, upsertPhase } from './state-steps.js';

export { MAX_LINES };

/**
 * One row: a step, or one instance of it (spec §8). `id` is the instance address the events carry
 * (`restart-each[1]`, `restart-each[1].healthy`); `children` are its items or its sub-runbook's steps.
 */
export interface StepView {
  id: string;
  phase: string;
  title?: string;
  type: string;
  depth: number;
  needs: string[];
  hasRollback: boolean;
  where?: string;
  status: StepStatus;
  attempt: number;
  maxAttempts?: number;
  /** for_each (v1 journals): the item the latest attempt works on. */
  index?: number;
  /** An instance's key: its for_each index or host name (`[1]`, `[web-2]`). */
  key?: number | string;
  /** An item's value (masked) or a host instance's host, as one line. */
  item?: string;
  /** The aggregate of a for_each step's instances, from its step.finished. */
  items?: StepFinishedEvent['items'];
  /** An `on:` step: its items are hosts. */
  hosts?: boolean;
  startedAt?: number;
  /** Order of first start: rollbacks run in reverse of it. */
  startSeq?: number;
  durationMs?: number;
  error?: string;
  lines: string[];
  /** All lines ever received, also those dropped from `lines`. */
  lineCount: number;
  progress?: { bytes?: number; total?: number; rate?: number; message?: string; at: number };
  rollback?: { status: StepStatus; startedAt: number; durationMs?: number; error?: string };
  /** Items of this step (`x[0]`…), or steps of the sub-runbook it runs (`x.child`), in order of first appearance. */
  children: string[];
}

export interface PhaseView {
  id: string;
  title?: string;
  budgetMs?: number;
  status: 'pending' | 'running' | PhaseStatus;
  startedAt?: number;
  durationMs?: number;
  withinBudget?: boolean | null;
  /** Top-level steps of the phase, outline order first. */
  steps: string[];
}

export interface RunView {
  id: string;
  runbook: string;
  title?: string;
  severity?: string;
  file: string;
  user: string;
  startedAt: number;
  rtoMs?: number;
  onExceeded: 'warn' | 'abort';
  dryRun: boolean;
  /** `run --drill`: a real run that exercises the plan. */
  drill: boolean;
  /** This process continues an earlier one (`runbook resume`). */
  resumed: boolean;
}

export interface Notice {
  at: number;
  text: string;
}

export interface TuiState {
  run?: RunView;
  phases: PhaseView[];
  steps: Record<string, StepView>;
  /** The top-level phase started last. */
  currentPhase?: string;
  /** Step that last started or printed: what the log pane follows. */
  active?: string;
  rollback: { active: boolean; startedAt?: number };
  /** The last step that failed, for the error box. */
  failure?: { step: string; error?: string; where?: string; status: StepStatus };
  approvals: (Notice & { step: string; decision: string; by: string })[];
  warnings: (Notice & { code: string })[];
  finished?: { status: RunStatus; durationMs: number; rtoMs?: number; rtoMet: boolean | null; error?: string; at: number };
  /** Time of the last event, for views without a clock. */
  lastAt: number;
  seq: number;
}

const KEEP_NOTICES = 20;

export function createState(): TuiState {
  return { phases: [], steps: {}, rollback: { active: false }, approvals: [], warnings: [], lastAt: 0, seq: 0 };
}

/** Fold one event into the state. Returns a new state; unchanged parts are shared. */
export function reduce(state: TuiState, event: RunEvent): TuiState {
  const at = Date.parse(event.ts);
  const s: TuiState = { ...state, lastAt: Number.isNaN(at) ? state.lastAt : at };
  const t = s.lastAt;
  switch (event.type) {
    case 'run.started': {
      // a resumed run keeps the original start, so the RTO clock does not restart
      const startedAt = state.run && event.resumed ? state.run.startedAt : t;
      s.run = {
        id: event.run,
        runbook: event.runbook,
        title: event.title,
        severity: event.severity,
        file: event.file,
        user: event.user,
        startedAt,
        rtoMs: event.objectives?.rto_ms,
        onExceeded: event.objectives?.on_exceeded ?? 'warn',
        dryRun: event.dry_run,
        drill: event.drill === true,
        resumed: event.resumed === true || state.run?.resumed === true,
      };
      if (state.run && event.resumed) return s;
      s.steps = {};
      s.phases = event.outline.map((p) => ({ id: p.id, title: p.title, budgetMs: p.budget_ms, status: 'pending', steps: p.steps.map((st) => st.id) }));
      for (const p of event.outline) {
        for (const st of p.steps) {
          s.steps[st.id] = { ...newStep(st.id, p.id, st.type), title: st.title, needs: st.needs, hasRollback: st.has_rollback, where: st.where };
        }
      }
      return s;
    }
    case 'run.resumed':
      // the journal's earlier events came first: the run, its phases and steps keep their times
      if (s.run) s.run = { ...s.run, resumed: true };
      return s;
    case 'phase.started': {
      if (isNested(event.phase)) return s;
      s.phases = upsertPhase(s.phases, event.phase, (p) => ({
        ...p,
        title: event.title ?? p.title,
        budgetMs: event.budget_ms ?? p.budgetMs,
        status: 'running',
        // started again by a resumed process: the phase's clock runs from its first start
        startedAt: p.status === 'running' && p.startedAt !== undefined ? p.startedAt : t,
        durationMs: undefined,
      }));
      s.currentPhase = event.phase;
      return s;
    }
    case 'phase.finished': {
      if (isNested(event.phase)) return s;
      s.phases = upsertPhase(s.phases, event.phase, (p) => {
        const budgetMs = event.budget_ms ?? p.budgetMs;
        // after a resume the new process counts from its own start; the phase began before that
        const durationMs = s.run?.resumed && p.startedAt !== undefined ? Math.max(event.duration_ms, t - p.startedAt) : event.duration_ms;
        const withinBudget = budgetMs === undefined || event.within_budget === null ? event.within_budget : durationMs <= budgetMs;
        return { ...p, status: event.status, durationMs, budgetMs, withinBudget, startedAt: p.startedAt ?? t - durationMs };
      });
      return s;
    }
    case 'step.started': {
      s.steps = { ...s.steps };
      const prev = ensureStep(s, event.step, event.phase, event.step_type);
      startParent(s, event.step, t);
      s.steps[event.step] = {
        ...prev,
        title: event.title ?? prev.title,
        type: event.step_type ?? prev.type,
        status: 'running',
        attempt: event.attempt,
        maxAttempts: event.max_attempts ?? prev.maxAttempts,
        index: event.index,
        item: itemText(event.item ?? event.host) ?? prev.item,
        startedAt: prev.status === 'running' && prev.startedAt !== undefined ? prev.startedAt : t,
        startSeq: prev.startSeq ?? s.seq + 1,
        durationMs: undefined,
        error: undefined,
        progress: undefined,
      };
      if (prev.startSeq === undefined) s.seq++;
      s.active = event.step;
      return s;
    }
    case 'step.output': {
      // output of something not announced (e.g. a rollback body under its own id): keep it under its parent
      if (!s.steps[event.step] && !knownAncestor(s.steps, event.step)) return state;
      s.steps = { ...s.steps };
      const step = ensureStep(s, event.step, '');
      s.steps[event.step] = appendLines(step, splitLines(event.text));
      s.active = event.step;
      return s;
    }
    case 'log': {
      const step = s.steps[event.step];
      if (!step) return s;
      s.steps = { ...s.steps, [event.step]: appendLines(step, splitLines(event.text).map((l) => `✎ ${l}`)) };
      return s;
    }
    case 'step.progress': {
      const step = s.steps[event.step];
      if (!step) return state;
      const { bytes, total, rate, message } = event;
      s.steps = { ...s.steps, [event.step]: { ...step, progress: { bytes, total, rate, message, at: t } } };
      return s;
    }
    case 'step.finished': {
      s.steps = { ...s.steps };
      const prev = ensureStep(s, event.step, event.phase);
      s.steps[event.step] = {
        ...prev,
        status: event.status,
        attempt: Math.max(prev.attempt, event.attempts),
        durationMs: event.duration_ms,
        error: event.error,
        where: event.where ?? prev.where,
        item: prev.item ?? itemText(event.item ?? event.host),
        items: event.items ?? prev.items,
        ...(event.on ? { hosts: true } : {}),
      };
      if (event.status === 'failed' || event.status === 'timed_out') {
        s.failure = { step: event.step, error: event.error, where: event.where ?? prev.where, status: event.status };
      }
      return s;
    }
    case 'rollback.started': {
      s.rollback = { active: true, startedAt: state.rollback.startedAt ?? t };
      if (!s.steps[event.step] && !knownAncestor(s.steps, event.step)) return s;
      s.steps = { ...s.steps };
      const step = ensureStep(s, event.step, '');
      s.steps[event.step] = { ...step, rollback: { status: 'running', startedAt: t } };
      s.active = event.step;
      return s;
    }
    case 'rollback.finished': {
      const step = s.steps[event.step];
      if (!step) return s;
      const startedAt = step.rollback?.startedAt ?? t - (event.duration_ms ?? 0);
      s.steps = {
        ...s.steps,
        [event.step]: { ...step, rollback: { status: event.status, startedAt, durationMs: event.duration_ms ?? t - startedAt, error: event.error } },
      };
      return s;
    }
    case 'approval':
      s.approvals = [...state.approvals, { at: t, step: event.step, decision: event.decision, by: event.by, text: event.message ?? '' }].slice(-KEEP_NOTICES);
      return s;
    case 'warning':
      s.warnings = [...state.warnings, { at: t, code: event.code, text: event.message }].slice(-KEEP_NOTICES);
      return s;
    case 'run.finished':
      s.finished = { status: event.status, durationMs: event.duration_ms, rtoMs: event.rto_ms, rtoMet: event.rto_met, error: event.error, at: t };
      s.rollback = { ...state.rollback, active: false };
      s.phases = s.phases.map((p) => (p.durationMs === undefined && p.status === 'pending' ? phaseFromSteps(p, s.steps) : p));
      return s;
  }
  return s;
}

/**
 * Fold many events at once (a redraw applies everything pushed since the last frame). Runs of output
 * lines are appended per step in one go: a step printing 10,000 lines a second costs one array copy
 * per frame instead of one per line. Same result as folding them one by one.
 */
export function reduceAll(state: TuiState, events: readonly RunEvent[]): TuiState {
  let s = state;
  let pending = new Map<string, string[]>();
  let lastOutput: RunEvent | undefined;
  const flush = () => {
    if (!lastOutput) return;
    const steps = { ...s.steps };
    for (const [id, lines] of pending) steps[id] = appendLines(steps[id], lines);
    const at = Date.parse(lastOutput.ts);
    s = { ...s, steps, active: (lastOutput as { step: string }).step, lastAt: Number.isNaN(at) ? s.lastAt : at };
    pending = new Map();
    lastOutput = undefined;
  };
  for (const e of events) {
    if (e.type === 'step.output' && s.steps[e.step]) {
      const lines = pending.get(e.step);
      if (lines) lines.push(...splitLines(e.text));
      else pending.set(e.step, splitLines(e.text));
      lastOutput = e;
      continue;
    }
    flush();
    s = reduce(s, e);
  }
  flush();
  return s;
}

/** Phases of sub-runbooks are `parent/<phase>`: they are drawn under their parent step, not as phases. */
function isNested(phase: string): boolean {
  return phase.includes('/');
}
