/**
 * What the run knows about each step: the one result shape for success and failure that the scope
 * (`steps.<id>.…`), the journal, the TUI and the reports all read.
 */
import type { StepStatus } from './events.js';
import type { StepModel } from '../dsl/model.js';

export interface StepState {
  id: string;
  model?: StepModel;
  status: StepStatus;
  outputs: Record<string, unknown>;
  result: unknown;
  error: string | null;
  attempts: number;
  duration: number | null;
  /** Restored from the journal by `resume` (finished in the dead process): never run again. */
  restored?: boolean;
}

export const TERMINAL: ReadonlySet<StepStatus> = new Set(['succeeded', 'failed', 'timed_out', 'skipped', 'cancelled']);

export function pendingState(id: string, model?: StepModel): StepState {
  return { id, model, status: 'pending', outputs: {}, result: null, error: null, attempts: 0, duration: null };
}

/** The `steps.<id>` view exposed to expressions. */
export function scopeView(s: StepState): Record<string, unknown> {
  return { status: s.status, outputs: s.outputs, result: s.result, error: s.error, attempts: s.attempts, duration: s.duration };
}

const MAX_JOURNAL_STRING = 64 * 1024;

/** A result small enough for the journal: long strings (stdout, bodies) cut to their last 64 KiB. */
export function journalResult(v: unknown, depth = 0): unknown {
  if (typeof v === 'string') return v.length > MAX_JOURNAL_STRING ? '…' + v.slice(-MAX_JOURNAL_STRING) : v;
  if (depth > 6 || v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.slice(0, 1000).map((x) => journalResult(x, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = journalResult(x, depth + 1);
  return out;
}
