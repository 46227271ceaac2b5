/**
 * The instance is the unit of a run's state (spec §8). `replayJournal` turns the events of a crashed
 * run into one map address → what the dead process knew of that instance: when it first started,
 * how it finished, whether its rollback started or finished. Resume reads only this map, at every
 * depth (for_each items, sub-runbook children of items), and never rebuilds an address by hand.
 */
import { baseAddress, instanceKey, parentAddress } from './address.js';
import type { PhaseStatus, RollbackFinishedEvent, RunEvent, StepFinishedEvent } from './events.js';

export interface InstanceRecord {
  address: string;
  /** Order of its first step.started in the journal (rollback runs in reverse order of start). */
  seq?: number;
  /** The last step.finished (for a for_each step: the aggregate). */
  finished?: StepFinishedEvent;
  /** Started (again) after its last step.finished, or never finished: it was running when the process died. */
  inflight: boolean;
  rollbackStarted: boolean;
  rollbackFinished?: RollbackFinishedEvent;
}

export interface Replay {
  instances: Map<string, InstanceRecord>;
  /** Phase address → its last known state ('started' when no phase.finished came). */
  phases: Map<string, 'started' | PhaseStatus>;
  /** Phase address → when it first started (ms since the epoch). */
  phaseStarts: Map<string, number>;
  /** A for_each step's address → its item instances. */
  items: Map<string, InstanceRecord[]>;
  /** Addresses of runbook-step instances the journal holds children of (their sub-runbook ran). */
  parents: Set<string>;
  /** The highest start order seen: new starts of this process count on from it. */
  maxSeq: number;
  /** Whether the dead process had been aborted (operator or signal) before it died. */
  aborted?: { by: string; rollback: boolean };
}

export const emptyReplay = (): Replay => ({ instances: new Map(), phases: new Map(), phaseStarts: new Map(), items: new Map(), parents: new Set(), maxSeq: 0 });

export function replayJournal(events: RunEvent[]): Replay {
  const r = emptyReplay();
  const get = (address: string): InstanceRecord => {
    let rec = r.instances.get(address);
    if (!rec) {
      r.instances.set(address, (rec = { address, inflight: false, rollbackStarted: false }));
      if (instanceKey(address) !== undefined) {
        const base = baseAddress(address);
        (r.items.get(base) ?? r.items.set(base, []).get(base)!).push(rec);
      }
      for (let p = parentAddress(address); p !== undefined; p = parentAddress(p)) {
        if (r.parents.has(p)) break;
        r.parents.add(p);
      }
    }
    return rec;
  };
  for (const e of events) {
    switch (e.type) {
      case 'step.started': {
        const rec = get(e.step);
        if (rec.seq === undefined) rec.seq = ++r.maxSeq;
        rec.inflight = true;
        break;
      }
      case 'step.finished': {
        const rec = get(e.step);
        rec.finished = e;
        rec.inflight = false;
        break;
      }
      case 'rollback.started':
        get(e.step).rollbackStarted = true;
        break;
      case 'rollback.finished':
        get(e.step).rollbackFinished = e;
        break;
      case 'phase.started':
        if (!r.phases.has(e.phase)) {
          r.phases.set(e.phase, 'started');
          r.phaseStarts.set(e.phase, Date.parse(e.ts));
        }
        for (let p = parentAddress(e.phase); p !== undefined; p = parentAddress(p)) r.parents.add(p);
        break;
      case 'phase.finished':
        r.phases.set(e.phase, e.status);
        break;
      case 'warning':
        if (e.code === 'ABORT') r.aborted = { by: /aborted by (\S+)/.exec(e.message)?.[1] ?? 'signal', rollback: true };
        else if (e.code === 'ROLLBACK_SKIPPED' && r.aborted) r.aborted.rollback = false;
        break;
      default:
        break;
    }
  }
  return r;
}

/** Instances in flight when the process died (started, never finished), in order of start. */
export function inflightInstances(r: Replay): InstanceRecord[] {
  return [...r.instances.values()].filter((x) => x.inflight).sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));
}

/** Rollbacks in flight when the process died (rollback.started, no rollback.finished). */
export function inflightRollbacks(r: Replay): InstanceRecord[] {
  return [...r.instances.values()].filter((x) => x.rollbackStarted && !x.rollbackFinished);
}
