import { describe, expect, it } from 'vitest';
import { MAX_LINES, createState, reduce, reduceAll, type StepView, type TuiState } from '../../src/tui/state.js';
import { listPhaseSteps, listRollbacks, pickShownPhase, windowSteps } from '../../src/tui/views.js';
import type { EventInput, RunEvent } from '../../src/interpreter/events.js';
import { T0, eventsUntil, loadJournal } from './helpers.js';

const journal = loadJournal();

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

describe('reduce', () => {
  it('draws every phase and step from the outline before anything runs', () => {
    const s = reduce(createState(), journal[0]);
    expect(s.run).toMatchObject({ id: '20240501-120000-a1b2', runbook: 'database-corruption', severity: 'P0', rtoMs: 300_000, startedAt: T0, user: 'alice' });
    expect(s.phases.map((p) => [p.id, p.status, p.budgetMs, p.steps])).toEqual([
      ['detect', 'pending', 60_000, ['check-db', 'check-backups', 'assess']],
      ['restore', 'pending', 120_000, ['stop-app', 'download', 'restore-db', 'start-app']],
    ]);
    expect(s.steps['restore-db']).toMatchObject({ status: 'pending', type: 'shell', hasRollback: true, where: 'runbooks/database-corruption.yaml:64:7', attempt: 0 });
  });

  it('never mutates the state it is given (replaying the journal over frozen states)', () => {
    let s = deepFreeze(createState());
    for (const e of journal) s = deepFreeze(reduce(s, e));
    expect(s.finished).toMatchObject({ status: 'rolled_back', durationMs: 20_500, rtoMet: true });
  });

  it('follows a step through parallel starts, retries and failure', () => {
    let s = reduceAll(createState(), eventsUntil(journal, (e) => e.type === 'step.started', 2));
    expect(listPhaseSteps(s, 'detect').map((st) => [st.id, st.status])).toEqual([
      ['check-db', 'running'],
      ['check-backups', 'running'],
      ['assess', 'pending'],
    ]);
    expect(s.active).toBe('check-backups');
    s = reduceAll(createState(), eventsUntil(journal, (e) => e.type === 'step.started' && e.step === 'restore-db', 3));
    expect(s.steps['restore-db']).toMatchObject({ status: 'running', attempt: 3, maxAttempts: 3, startedAt: T0 + 8_110, lineCount: 6 });
    expect(s.phases.find((p) => p.id === 'detect')).toMatchObject({ status: 'succeeded', durationMs: 1_990, withinBudget: true });
    expect(pickShownPhase(s)).toBe('restore');
    s = reduceAll(createState(), eventsUntil(journal, (e) => e.type === 'step.finished' && e.step === 'restore-db'));
    expect(s.steps['restore-db']).toMatchObject({ status: 'failed', attempt: 3, durationMs: 9_900 });
    expect(s.failure).toEqual({
      step: 'restore-db',
      status: 'failed',
      error: 'exit code 1: pg_restore: error: could not execute query: ERROR:  relation "trades" already exists',
      where: 'runbooks/database-corruption.yaml:64:7',
    });
  });

  it('keeps progress and the log note', () => {
    let s = reduceAll(createState(), eventsUntil(journal, (e) => e.type === 'step.progress'));
    expect(s.steps.download.progress).toEqual({ bytes: 209_715_200, total: 432_013_312, rate: 104_857_600, message: undefined, at: T0 + 6_000 });
    s = reduceAll(createState(), eventsUntil(journal, (e) => e.type === 'log'));
    expect(s.steps.assess.lines).toEqual(['checking table trades', 'checksum mismatch in page 4711 of trades', '✎ Stakeholders notified']);
  });

  it(`keeps only the last ${MAX_LINES} output lines of a step, and counts them all`, () => {
    let s = reduceAll(createState(), eventsUntil(journal, (e) => e.type === 'step.started'));
    const out = (text: string): RunEvent => ({ ts: '2024-05-01T12:00:01.000Z', run: 'r', type: 'step.output', step: 'check-db', stream: 'stdout', text });
    for (let i = 1; i <= 700; i++) s = reduce(s, out(`line ${i}\n`));
    s = reduce(s, out('a\nb\n'));
    expect(s.steps['check-db'].lines).toHaveLength(MAX_LINES);
    expect(s.steps['check-db'].lines[0]).toBe('line 203');
    expect(s.steps['check-db'].lines.slice(-3)).toEqual(['line 700', 'a', 'b']);
    expect(s.steps['check-db'].lineCount).toBe(702);
  });

  it('nests sub-runbook steps under their parent, by depth, and leaves their phases out of the phase list', () => {
    const ev = (e: EventInput): RunEvent => ({ ts: '2024-05-01T12:00:05.000Z', run: 'r', ...e }) as RunEvent;
    const s = reduceAll(createState(), [
      ...eventsUntil(journal, (e) => e.type === 'step.started' && e.step === 'download'),
      ev({ type: 'phase.started', phase: 'download/fetch', budget_ms: 1000 }),
      ev({ type: 'step.started', step: 'download.locate', phase: 'download/fetch', attempt: 1, depth: 1, step_type: 's3' }),
      ev({ type: 'step.started', step: 'download.locate.head', phase: 'download.locate/x', attempt: 1, depth: 2, step_type: 's3' }),
      ev({ type: 'step.started', step: 'download.verify', phase: 'download/fetch', attempt: 1, depth: 1, step_type: 'shell' }),
      ev({ type: 'step.finished', step: 'download.locate', phase: 'download/fetch', status: 'succeeded', attempts: 1, duration_ms: 5, outputs: {}, depth: 1 }),
    ]);
    expect(s.phases.map((p) => p.id)).toEqual(['detect', 'restore']);
    expect(listPhaseSteps(s, 'restore').map((st) => [st.id, st.depth, st.status])).toEqual([
      ['stop-app', 0, 'succeeded'],
      ['download', 0, 'running'],
      ['download.locate', 1, 'succeeded'],
      ['download.locate.head', 2, 'running'],
      ['download.verify', 1, 'running'],
      ['restore-db', 0, 'pending'],
      ['start-app', 0, 'pending'],
    ]);
  });

  it("gives the run's finally section (no phase events of its own) the status and time of its steps", () => {
    const at = (ms: number) => new Date(Date.parse('2024-05-01T12:00:00.000Z') + ms).toISOString();
    const ev = (ms: number, e: EventInput): RunEvent => ({ ts: at(ms), run: 'r', ...e }) as RunEvent;
    const s = reduceAll(createState(), [
      ev(0, { type: 'run.started', runbook: 'x', file: 'x.yaml', params: {}, objectives: { on_exceeded: 'warn' }, dry_run: false, outline: [{ id: 'work', steps: [{ id: 'a', type: 'log', needs: [], has_rollback: false }] }], pid: 1, host: 'h', user: 'u' }),
      ev(1, { type: 'phase.started', phase: 'work' }),
      ev(2, { type: 'step.started', step: 'a', phase: 'work', attempt: 1, step_type: 'log' }),
      ev(3, { type: 'step.finished', step: 'a', phase: 'work', status: 'succeeded', attempts: 1, duration_ms: 1, outputs: {} }),
      ev(4, { type: 'phase.finished', phase: 'work', status: 'succeeded', duration_ms: 3, within_budget: null }),
      ev(10, { type: 'step.started', step: 'cleanup', phase: 'finally', attempt: 1, step_type: 'shell' }),
      ev(250, { type: 'step.finished', step: 'cleanup', phase: 'finally', status: 'succeeded', attempts: 1, duration_ms: 240, outputs: {} }),
      ev(251, { type: 'run.finished', status: 'succeeded', duration_ms: 251, rto_met: null, measures: {} }),
    ]);
    expect(s.phases.map((p) => [p.id, p.status, p.durationMs])).toEqual([
      ['work', 'succeeded', 3],
      ['finally', 'succeeded', 240],
    ]);
  });

  it('lists rollbacks in reverse order of start: done, running, still to run', () => {
    let s: TuiState = reduceAll(createState(), eventsUntil(journal, (e) => e.type === 'rollback.started'));
    expect(s.rollback).toEqual({ active: true, startedAt: T0 + 18_030 });
    expect(listRollbacks(s).map((st) => [st.id, st.rollback?.status ?? 'pending'])).toEqual([
      ['restore-db', 'running'],
      ['stop-app', 'pending'],
    ]);
    s = reduceAll(createState(), journal);
    expect(listRollbacks(s).map((st) => [st.id, st.rollback])).toEqual([
      ['restore-db', { status: 'succeeded', startedAt: T0 + 18_030, durationMs: 900, error: undefined }],
      ['stop-app', { status: 'succeeded', startedAt: T0 + 18_940, durationMs: 1_500, error: undefined }],
    ]);
    expect(s.rollback.active).toBe(false);
    expect(s.approvals).toEqual([{ at: T0 + 2_015, step: 'stop-app', decision: 'approved', by: 'alice', text: 'Stop trading-service in staging?' }]);
  });

  it('reduceAll (output batched per frame) gives the same state as folding events one by one', () => {
    const extra: RunEvent[] = [];
    for (let i = 0; i < 30; i++) {
      extra.push({ ts: '2024-05-01T12:00:00.400Z', run: 'r', type: 'step.output', step: i % 2 ? 'check-db' : 'check-backups', stream: 'stdout', text: `x${i}\ny${i}` });
    }
    extra.push({ ts: '2024-05-01T12:00:00.401Z', run: 'r', type: 'step.output', step: 'check-db.sub', stream: 'info', text: 'nested' });
    extra.push({ ts: '2024-05-01T12:00:00.402Z', run: 'r', type: 'step.output', step: 'nowhere', stream: 'info', text: 'dropped' });
    const head = eventsUntil(journal, (e) => e.type === 'step.started', 2);
    const events = [...head, ...extra, ...journal.slice(head.length)];
    const oneByOne = events.reduce(reduce, createState());
    expect(reduceAll(createState(), events)).toEqual(oneByOne);
    expect(oneByOne.steps['check-db'].children).toEqual(['check-db.sub']);
    expect(oneByOne.steps['check-db'].lines.slice(-3)).toEqual(['x29', 'y29', 'SELECT count(*) FROM trades → 1 row']);
  });

  it('a resumed run keeps its original start (the RTO clock does not restart) and what already ran', () => {
    const before = reduceAll(createState(), eventsUntil(journal, (e) => e.type === 'phase.finished'));
    const resumed = { ...journal[0], ts: '2024-05-01T12:03:00.000Z', resumed: true } as RunEvent;
    const s = reduce(before, resumed);
    expect(s.run).toMatchObject({ startedAt: T0, resumed: true });
    expect(s.steps['check-db'].status).toBe('succeeded');
  });
});

describe('windowSteps', () => {
  const steps = (statuses: string[]) => statuses.map((status, i) => ({ id: `s${i}`, status }) as unknown as StepView);
  it('shows everything that fits', () => {
    expect(windowSteps(steps(['succeeded', 'running']), 5)).toMatchObject({ above: 0, below: 0 });
  });
  it('starts at the first step still of interest and counts the rest', () => {
    const w = windowSteps(steps(['succeeded', 'succeeded', 'succeeded', 'running', 'pending', 'pending', 'pending', 'pending']), 3);
    expect([w.above, w.shown.map((s) => s.id), w.below]).toEqual([3, ['s3', 's4', 's5'], 2]);
  });
  it('keeps the selected step in view, and never runs past the end', () => {
    const list = steps(['succeeded', 'succeeded', 'succeeded', 'succeeded', 'succeeded', 'running']);
    expect(windowSteps(list, 3, 's0').shown.map((s) => s.id)).toEqual(['s0', 's1', 's2']);
    expect(windowSteps(list, 3)).toMatchObject({ above: 3, below: 0 });
  });
});
