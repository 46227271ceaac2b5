/**
 * Journals in the v2 shape (spec §8), written by hand the way the interpreter writes them: every
 * event's `step` is an instance address, a for_each item's events carry `index` and `item`, each
 * instance has its own step.* and rollback.* events, the for_each step gets one aggregate
 * step.finished with `items` counts, and sub-runbook steps/phases are `<instance>.<id>` / `<instance>/<phase>`.
 */
import type { RunEvent } from '../../src/interpreter/events.js';
import { Journal } from './journals.js';

const host = { pid: 4242, host: 'dr-host', user: 'alice' };

export const ROLLING_OUTLINE = [
  {
    id: 'drain',
    title: 'Drain and restart',
    budget_ms: 60_000,
    steps: [
      { id: 'list-hosts', title: 'List the web hosts', type: 'shell', needs: [], has_rollback: false },
      { id: 'restart-each', title: 'Restart each host', type: 'runbook', needs: ['list-hosts'], has_rollback: false },
      { id: 'check', title: 'Check the database', type: 'sql', needs: ['restart-each'], has_rollback: false },
    ],
  },
];

function started(extra: Record<string, unknown> = {}): Record<string, unknown> & { type: string } {
  return {
    type: 'run.started',
    runbook: 'rolling-restart',
    title: 'Rolling restart of the web tier',
    severity: 'P1',
    file: 'runbooks/rolling-restart.yaml',
    params: {},
    objectives: { rto_ms: 120_000, rpo_ms: 0, on_exceeded: 'warn' },
    dry_run: false,
    outline: ROLLING_OUTLINE,
    ...host,
    ...extra,
  };
}

/**
 * restart-each runs a sub-runbook per host (web-1, web-2): mark-draining (with a rollback) then
 * healthy (polls the health URL). web-2 never answers: 4 polls with the same ECONNREFUSED, then it
 * times out; the run rolls both instances of mark-draining back and runs its `finally` step.
 */
export function rollingRun(id = 'r-rolling', t0 = '2026-12-01T10:00:00.000Z', extra: Record<string, unknown> = {}): Journal {
  const j = new Journal(id, t0)
    .at(0, started(extra))
    .at(10, { type: 'phase.started', phase: 'drain', title: 'Drain and restart', budget_ms: 60_000 })
    .at(20, { type: 'step.started', step: 'list-hosts', phase: 'drain', attempt: 1, max_attempts: 1, step_type: 'shell', title: 'List the web hosts' })
    .at(120, { type: 'step.finished', step: 'list-hosts', phase: 'drain', status: 'succeeded', attempts: 1, duration_ms: 100, outputs: { hosts: ['web-1', 'web-2'] } });
  item(j, 0, 'web-1', 200, true);
  item(j, 1, 'web-2', 3_000, false);
  return j
    .at(9_010, { type: 'step.finished', step: 'restart-each', phase: 'drain', status: 'failed', attempts: 1, duration_ms: 8_810, outputs: {}, error: '1 of 2 items failed', items: { succeeded: 1, failed: 0, timed_out: 1, skipped: 0, cancelled: 0 } })
    .at(9_020, { type: 'phase.finished', phase: 'drain', status: 'failed', duration_ms: 9_010, budget_ms: 60_000, within_budget: true })
    .at(9_030, { type: 'rollback.started', step: 'restart-each[1].mark-draining' })
    .at(9_130, { type: 'rollback.finished', step: 'restart-each[1].mark-draining', status: 'succeeded', duration_ms: 100 })
    .at(9_140, { type: 'rollback.started', step: 'restart-each[0].mark-draining' })
    .at(9_240, { type: 'rollback.finished', step: 'restart-each[0].mark-draining', status: 'succeeded', duration_ms: 100 })
    .at(9_250, { type: 'step.started', step: 'cleanup', phase: 'finally', attempt: 1, step_type: 'log' })
    .at(9_251, { type: 'log', step: 'cleanup', text: 'Web tier left as it was' })
    .at(9_291, { type: 'step.finished', step: 'cleanup', phase: 'finally', status: 'succeeded', attempts: 1, duration_ms: 41, outputs: {} })
    .at(9_300, { type: 'run.finished', status: 'rolled_back', duration_ms: 9_300, rto_ms: 120_000, rto_met: false, measures: {}, error: "step 'restart-each' failed: 1 of 2 items failed" });
}

/** One item of restart-each: its sub-runbook phase `restart-each[i]/cycle` with two steps. */
function item(j: Journal, index: number, name: string, t: number, healthy: boolean): void {
  const at = `restart-each[${index}]`;
  const it = { index, item: name };
  j.at(t, { type: 'step.started', step: at, phase: 'drain', attempt: 1, max_attempts: 1, step_type: 'runbook', title: 'Restart each host', ...it })
    .at(t + 10, { type: 'phase.started', phase: `${at}/cycle` })
    .at(t + 20, { type: 'step.started', step: `${at}.mark-draining`, phase: `${at}/cycle`, attempt: 1, step_type: 'shell', ...it })
    .at(t + 120, { type: 'step.output', step: `${at}.mark-draining`, stream: 'stdout', text: `draining ${name}\n` })
    .at(t + 220, { type: 'step.finished', step: `${at}.mark-draining`, phase: `${at}/cycle`, status: 'succeeded', attempts: 1, duration_ms: 200, outputs: {}, ...it })
    .at(t + 230, { type: 'step.started', step: `${at}.healthy`, phase: `${at}/cycle`, attempt: 1, step_type: 'http', ...it });
  if (healthy) {
    j.at(t + 330, { type: 'step.output', step: `${at}.healthy`, stream: 'info', text: 'GET /health → 200 (12 ms)' })
      .at(t + 340, { type: 'step.finished', step: `${at}.healthy`, phase: `${at}/cycle`, status: 'succeeded', attempts: 1, duration_ms: 110, outputs: {}, ...it })
      .at(t + 350, { type: 'phase.finished', phase: `${at}/cycle`, status: 'succeeded', duration_ms: 340, within_budget: null })
      .at(t + 360, { type: 'step.finished', step: at, phase: 'drain', status: 'succeeded', attempts: 1, duration_ms: 360, outputs: {}, ...it });
    return;
  }
  for (let poll = 1; poll <= 4; poll++) {
    j.at(t + 230 + poll * 1000, { type: 'step.output', step: `${at}.healthy`, stream: 'info', text: `poll ${poll}: connect ECONNREFUSED 127.0.0.1:8080` });
  }
  j.at(t + 5_230, { type: 'step.finished', step: `${at}.healthy`, phase: `${at}/cycle`, status: 'timed_out', attempts: 1, duration_ms: 5_000, outputs: {}, error: 'condition not met within 5s (4 polls)', ...it })
    .at(t + 5_240, { type: 'phase.finished', phase: `${at}/cycle`, status: 'failed', duration_ms: 5_230, within_budget: null })
    .at(t + 5_250, { type: 'step.finished', step: at, phase: 'drain', status: 'timed_out', attempts: 1, duration_ms: 5_250, outputs: {}, error: 'healthy timed out', ...it });
}

/**
 * The same run, but its process died while web-2's healthy step polled; `runbook resume` continued
 * it 60 s later. As on disk: the earlier events first, then `run.resumed`, then the new process's
 * events (the phase starts again; the in-flight step runs again).
 */
export function resumedRollingRun(id = 'r-rolling-resumed', t0 = '2026-12-01T11:00:00.000Z'): Journal {
  const j = new Journal(id, t0)
    .at(0, started())
    .at(10, { type: 'phase.started', phase: 'drain', title: 'Drain and restart', budget_ms: 60_000 })
    .at(20, { type: 'step.started', step: 'list-hosts', phase: 'drain', attempt: 1, step_type: 'shell', title: 'List the web hosts' })
    .at(120, { type: 'step.finished', step: 'list-hosts', phase: 'drain', status: 'succeeded', attempts: 1, duration_ms: 100, outputs: {} });
  item(j, 0, 'web-1', 200, true);
  const it = { index: 1, item: 'web-2' };
  j.at(3_000, { type: 'step.started', step: 'restart-each[1]', phase: 'drain', attempt: 1, step_type: 'runbook', ...it })
    .at(3_010, { type: 'phase.started', phase: 'restart-each[1]/cycle' })
    .at(3_020, { type: 'step.started', step: 'restart-each[1].mark-draining', phase: 'restart-each[1]/cycle', attempt: 1, step_type: 'shell', ...it })
    .at(3_220, { type: 'step.finished', step: 'restart-each[1].mark-draining', phase: 'restart-each[1]/cycle', status: 'succeeded', attempts: 1, duration_ms: 200, outputs: {}, ...it })
    .at(3_230, { type: 'step.started', step: 'restart-each[1].healthy', phase: 'restart-each[1]/cycle', attempt: 1, step_type: 'http', ...it })
    // the process dies here; 60 s later:
    .at(63_000, { type: 'run.resumed', pid: 5151, inflight: [{ step: 'restart-each[1].healthy', decision: 'rerun' }] })
    .at(63_010, { type: 'phase.started', phase: 'drain', title: 'Drain and restart', budget_ms: 60_000 })
    .at(63_020, { type: 'step.started', step: 'restart-each[1].healthy', phase: 'restart-each[1]/cycle', attempt: 1, step_type: 'http', ...it })
    .at(63_130, { type: 'step.finished', step: 'restart-each[1].healthy', phase: 'restart-each[1]/cycle', status: 'succeeded', attempts: 1, duration_ms: 110, outputs: {}, ...it })
    .at(63_140, { type: 'phase.finished', phase: 'restart-each[1]/cycle', status: 'succeeded', duration_ms: 130, within_budget: null })
    .at(63_150, { type: 'step.finished', step: 'restart-each[1]', phase: 'drain', status: 'succeeded', attempts: 1, duration_ms: 150, outputs: {}, ...it })
    .at(63_160, { type: 'step.finished', step: 'restart-each', phase: 'drain', status: 'succeeded', attempts: 1, duration_ms: 63_000, outputs: {}, items: { succeeded: 2, failed: 0, timed_out: 0, skipped: 0, cancelled: 0 } })
    .at(63_170, { type: 'step.started', step: 'check', phase: 'drain', attempt: 1, step_type: 'sql' })
    .at(63_200, { type: 'step.output', step: 'check', stream: 'info', text: '1 row (28 ms)' })
    .at(63_210, { type: 'step.finished', step: 'check', phase: 'drain', status: 'succeeded', attempts: 1, duration_ms: 40, outputs: {} })
    // the new process counts the phase from its own start (200 ms); it began 63.2 s before
    .at(63_220, { type: 'phase.finished', phase: 'drain', status: 'succeeded', duration_ms: 210, budget_ms: 60_000, within_budget: true })
    .at(63_230, { type: 'run.finished', status: 'succeeded', duration_ms: 63_230, rto_ms: 120_000, rto_met: true, measures: { rpo: 0 } });
  return j;
}

/** The journal's events, parsed, for views that take events rather than a state dir. */
export function eventsOf(j: Journal): RunEvent[] {
  return j.lines.map((l) => JSON.parse(l) as RunEvent);
}
