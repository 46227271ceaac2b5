/**
 * One pass over a run's events, folding them into per-phase, per-step, rollback, decision, note and
 * warning records plus the timeline. `summarizeRun` shapes the result into a `RunReport`.
 */
import type { OutlineStep, RunEvent, RunFinishedEvent, RunStartedEvent } from '../interpreter/events.js';
import { baseAddress } from '../interpreter/address.js';
import { treeDepth } from '../interpreter/address-tree.js';
import { formatDuration, msBetween } from './format.js';
import type {
  DecisionReport,
  NoteReport,
  PhaseReport,
  RollbackReport,
  StepReport,
  TimelineEntry,
  WarningReport,
} from './types.js';

export interface Collected {
  phases: Map<string, PhaseReport>;
  steps: Map<string, StepReport>;
  rollbacks: RollbackReport[];
  decisions: DecisionReport[];
  notes: NoteReport[];
  warnings: WarningReport[];
  timeline: TimelineEntry[];
  finished?: RunFinishedEvent;
  resumes: number;
}

export function collectRunEvents(started: RunStartedEvent, events: RunEvent[]): Collected {
  const at = (ts: string) => ({ at: ts, offset_ms: msBetween(started.ts, ts) });
  const outline = outlineSteps(started);
  const c: Collected = {
    phases: new Map((started.outline ?? []).map((p) => [p.id, { id: p.id, title: p.title, status: 'pending', budget_ms: p.budget_ms, within_budget: null, steps: [] }])),
    steps: new Map(),
    rollbacks: [],
    decisions: [],
    notes: [],
    warnings: [],
    timeline: [],
    resumes: 0,
  };
  const step = (id: string, phase: string): StepReport => {
    let s = c.steps.get(id);
    if (!s) {
      const o = outline.get(id);
      // an item takes its step's title and type (the outline knows only top-level steps)
      const of = o ?? (id.endsWith(']') ? c.steps.get(baseAddress(id)) : undefined);
      s = { id, phase, top_phase: phase, title: of?.title, type: of?.type, depth: treeDepth(id), status: 'pending', attempts: 0, outputs: {}, where: of?.where, rollback: null };
      c.steps.set(id, s);
    }
    return s;
  };
  let resumedStarts = 0;
  let resumedEvents = 0;
  const resumed = () => resumedStarts + resumedEvents > 0;

  for (const ev of events) {
    switch (ev.type) {
      case 'run.started':
        if (ev === started) {
          c.timeline.push({ ...at(ev.ts), kind: 'run', event: 'run started', note: runNote(ev) });
        } else {
          resumedStarts++;
          c.timeline.push({ ...at(ev.ts), kind: 'run', event: 'run resumed', note: `pid ${ev.pid} by ${ev.user}@${ev.host}` });
        }
        break;
      case 'run.resumed': {
        resumedEvents++;
        const inflight = ev.inflight.map((i) => `${i.decision} ${i.step}`).join(', ');
        c.timeline.push({ ...at(ev.ts), kind: 'run', event: 'run resumed', note: inflight ? `in-flight: ${inflight}` : undefined });
        break;
      }
      case 'phase.started': {
        let p = c.phases.get(ev.phase);
        if (!p) c.phases.set(ev.phase, (p = { id: ev.phase, status: 'pending', within_budget: null, steps: [] }));
        p.title = ev.title ?? p.title;
        p.budget_ms = ev.budget_ms ?? p.budget_ms;
        // a resumed process starts the phase again: it keeps its first start
        if (p.started_at === undefined || p.status !== 'running') {
          p.started_at = ev.ts;
          p.start_offset_ms = msBetween(started.ts, ev.ts);
        }
        p.status = 'running';
        const note = [p.title, p.budget_ms !== undefined ? `budget ${formatDuration(p.budget_ms)}` : undefined].filter(Boolean).join(', ');
        c.timeline.push({ ...at(ev.ts), kind: 'phase', phase: ev.phase, event: 'phase started', note: note || undefined });
        break;
      }
      case 'phase.finished': {
        let p = c.phases.get(ev.phase);
        if (!p) c.phases.set(ev.phase, (p = { id: ev.phase, status: 'pending', within_budget: null, steps: [] }));
        p.status = ev.status;
        // after a resume the new process counts from its own start: the phase ran since its first start
        p.duration_ms = resumed() && p.started_at !== undefined ? Math.max(ev.duration_ms, msBetween(p.started_at, ev.ts)) : ev.duration_ms;
        p.budget_ms = ev.budget_ms ?? p.budget_ms;
        p.within_budget = p.budget_ms === undefined || ev.within_budget === null || ev.within_budget === undefined ? (ev.within_budget ?? null) : p.duration_ms <= p.budget_ms;
        const note =
          p.budget_ms === undefined || p.within_budget === null
            ? undefined
            : `${p.within_budget ? 'within' : 'over'} budget ${formatDuration(p.budget_ms)}`;
        c.timeline.push({ ...at(ev.ts), kind: 'phase', phase: ev.phase, event: 'phase finished', status: ev.status, duration_ms: p.duration_ms, note });
        break;
      }
      case 'step.started': {
        startItemsStep(ev.step, ev.phase, ev.ts);
        const s = step(ev.step, ev.phase);
        s.phase = ev.phase;
        s.title = ev.title ?? s.title;
        s.type = ev.step_type ?? s.type;
        s.max_attempts = ev.max_attempts ?? s.max_attempts;
        tagItem(s, ev);
        s.attempts = Math.max(s.attempts, ev.attempt);
        s.status = 'running';
        if (s.started_at === undefined) {
          s.started_at = ev.ts;
          s.start_offset_ms = msBetween(started.ts, ev.ts);
          // Keep `steps` in order of first start: re-insert a step first seen via the outline lookup.
          c.steps.delete(s.id);
          c.steps.set(s.id, s);
        }
        let event = ev.attempt > 1 ? `attempt ${ev.attempt}${ev.max_attempts ? `/${ev.max_attempts}` : ''}` : 'started';
        // v1 journals: every item's attempt is under the step's own id
        if (ev.index !== undefined && !ev.step.includes('[')) event += ` (item ${ev.index})`;
        const note = ev.attempt > 1 ? undefined : ev.step.endsWith(']') && s.item !== undefined ? `${s.host !== undefined ? 'host' : 'item'} ${s.item}` : s.title;
        c.timeline.push({ ...at(ev.ts), kind: 'step', phase: ev.phase, step: ev.step, event, status: 'running', note });
        break;
      }
      case 'step.finished': {
        const s = step(ev.step, ev.phase);
        s.phase = ev.phase;
        s.status = ev.status;
        s.attempts = Math.max(s.attempts, ev.attempts);
        s.duration_ms = ev.duration_ms;
        s.finished_at = ev.ts;
        s.error = ev.error;
        s.outputs = ev.outputs ?? {};
        s.where = ev.where ?? s.where;
        if (ev.items) s.items = ev.items;
        if (ev.on) s.hosts = true;
        tagItem(s, ev);
        const items = ev.items ? `${ev.on ? 'hosts' : 'items'}: ${formatItemCounts(ev.items)}` : undefined;
        c.timeline.push({ ...at(ev.ts), kind: 'step', phase: ev.phase, step: ev.step, event: 'finished', status: ev.status, duration_ms: ev.duration_ms, note: [items, ev.error].filter(Boolean).join('; ') || undefined });
        break;
      }
      case 'rollback.started': {
        const phase = c.steps.get(ev.step)?.phase;
        c.rollbacks.push({ step: ev.step, phase, status: 'running', ...startOf(started, ev.ts) });
        c.timeline.push({ ...at(ev.ts), kind: 'rollback', phase, step: ev.step, event: 'rollback started', status: 'running' });
        break;
      }
      case 'rollback.finished': {
        const phase = c.steps.get(ev.step)?.phase;
        let r = [...c.rollbacks].reverse().find((x) => x.step === ev.step && x.status === 'running');
        if (!r) c.rollbacks.push((r = { step: ev.step, phase, status: 'running', ...startOf(started, ev.ts) }));
        r.status = ev.status;
        r.error = ev.error;
        r.duration_ms = ev.duration_ms ?? msBetween(r.started_at, ev.ts);
        const s = c.steps.get(ev.step);
        if (s) s.rollback = ev.status;
        c.timeline.push({ ...at(ev.ts), kind: 'rollback', phase, step: ev.step, event: 'rollback finished', status: ev.status, duration_ms: r.duration_ms, note: ev.error });
        break;
      }
      case 'approval': {
        const phase = c.steps.get(ev.step)?.phase;
        c.decisions.push({ ...at(ev.ts), step: ev.step, decision: ev.decision, by: ev.by, message: ev.message });
        const note = `by ${ev.by}${ev.message ? `: ${ev.message}` : ''}`;
        c.timeline.push({ ...at(ev.ts), kind: 'decision', phase, step: ev.step, event: `decision: ${ev.decision}`, note });
        break;
      }
      case 'log': {
        const phase = c.steps.get(ev.step)?.phase;
        c.notes.push({ ...at(ev.ts), step: ev.step, phase, text: ev.text });
        c.timeline.push({ ...at(ev.ts), kind: 'note', phase, step: ev.step, event: 'note', note: ev.text });
        break;
      }
      case 'warning':
        c.warnings.push({ ...at(ev.ts), code: ev.code, message: ev.message, phase: ev.phase, step: ev.step });
        c.timeline.push({ ...at(ev.ts), kind: 'warning', phase: ev.phase, step: ev.step, event: 'warning', status: ev.code, note: ev.message });
        break;
      case 'run.finished':
        c.finished = ev;
        c.timeline.push({ ...at(ev.ts), kind: 'run', event: 'run finished', status: ev.status, duration_ms: ev.duration_ms, note: ev.error });
        break;
      default:
        // step.output / step.progress are live detail for the TUI, not report material.
        break;
    }
  }
  // Resume may journal a fresh run.started, a run.resumed, or both: count each resume once.
  c.resumes = Math.max(resumedStarts, resumedEvents);
  return c;

  /** A for_each step without a step.started of its own starts with its first item. */
  function startItemsStep(address: string, phase: string, ts: string): void {
    if (!address.endsWith(']')) return;
    const parent = step(baseAddress(address), phase);
    if (parent.started_at !== undefined) return;
    parent.status = 'running';
    parent.started_at = ts;
    parent.start_offset_ms = msBetween(started.ts, ts);
    c.steps.delete(parent.id);
    c.steps.set(parent.id, parent);
  }
}

/** The item (masked value) or host an instance works on, as the events tell it. */
function tagItem(s: StepReport, ev: { index?: number; item?: unknown; host?: string }): void {
  if (ev.index !== undefined) s.index = ev.index;
  if (ev.item !== undefined) s.item = typeof ev.item === 'string' ? ev.item : JSON.stringify(ev.item);
  if (ev.host !== undefined) s.host = ev.host;
}

const ITEM_STATUSES = ['succeeded', 'failed', 'timed_out', 'skipped', 'cancelled'] as const;

/** `3 succeeded, 1 timed_out` (zero counts left out); `none` when the list was empty. */
export function formatItemCounts(items: Partial<Record<(typeof ITEM_STATUSES)[number], number>>): string {
  const parts = ITEM_STATUSES.filter((k) => (items[k] ?? 0) > 0).map((k) => `${items[k]} ${k}`);
  return parts.length ? parts.join(', ') : 'none';
}

function startOf(started: RunStartedEvent, ts: string): { started_at: string; start_offset_ms: number } {
  return { started_at: ts, start_offset_ms: msBetween(started.ts, ts) };
}

function runNote(ev: RunStartedEvent): string {
  return `${ev.dry_run ? 'dry run ' : ''}by ${ev.user}@${ev.host}`;
}

function outlineSteps(started: RunStartedEvent): Map<string, OutlineStep> {
  const m = new Map<string, OutlineStep>();
  for (const p of started.outline ?? []) for (const s of p.steps) m.set(s.id, s);
  return m;
}
