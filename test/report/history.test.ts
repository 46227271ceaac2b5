import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { phaseDurations, runDurations, stepDurations } from '../../src/report/history.js';
import { percentile } from '../../src/report/percentile.js';
import { Journal, tempStateDir } from './journals.js';

const outline = [{ id: 'restore', steps: [{ id: 'restore-db', type: 'shell', needs: [], has_rollback: false }, { id: 'verify', type: 'http', needs: [], has_rollback: false }] }];

/** One run of `book` starting on day `day`, with the given step durations and outcome. */
function pastRun(state: string, id: string, day: number, o: { restore: number; verify?: number; dry?: boolean; fail?: boolean; book?: string; unfinished?: boolean }): void {
  const t0 = new Date(Date.UTC(2024, 0, day)).toISOString();
  const verify = o.verify ?? 100;
  const j = new Journal(id, t0)
    .at(0, { type: 'run.started', runbook: o.book ?? 'db-restore', file: 'x.yaml', params: {}, objectives: { on_exceeded: 'warn' }, dry_run: !!o.dry, outline, pid: 1, host: 'h', user: 'u' })
    .at(1, { type: 'phase.started', phase: 'restore' })
    .at(2, { type: 'step.started', step: 'restore-db', phase: 'restore', attempt: 1 })
    .at(2 + o.restore, { type: 'step.finished', step: 'restore-db', phase: 'restore', status: o.fail ? 'failed' : 'succeeded', attempts: 1, duration_ms: o.restore, outputs: {}, error: o.fail ? 'boom' : undefined });
  if (o.unfinished) {
    j.write(state);
    return;
  }
  const end = 2 + o.restore;
  if (!o.fail) {
    j.at(end + 1, { type: 'step.started', step: 'verify', phase: 'restore', attempt: 1 });
    j.at(end + 1 + verify, { type: 'step.finished', step: 'verify', phase: 'restore', status: 'succeeded', attempts: 1, duration_ms: verify, outputs: {} });
  }
  const total = end + 2 + (o.fail ? 0 : verify);
  j.at(total, { type: 'phase.finished', phase: 'restore', status: o.fail ? 'failed' : 'succeeded', duration_ms: total - 1, within_budget: null })
    .at(total + 1, { type: 'run.finished', status: o.fail ? 'failed' : 'succeeded', duration_ms: total + 1, rto_met: null, measures: {} })
    .write(state);
}

describe('percentile (nearest rank)', () => {
  it('takes the value at rank ceil(p/100 * n)', () => {
    const oneToTwenty = Array.from({ length: 20 }, (_, i) => 20 - i);
    expect(percentile(oneToTwenty, 50)).toBe(10);
    expect(percentile(oneToTwenty, 95)).toBe(19);
    expect(percentile(oneToTwenty, 100)).toBe(20);
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(percentile([7], 95)).toBe(7);
    expect(percentile([3, 1, 2], 0)).toBe(1);
    expect(() => percentile([], 50)).toThrow('percentile of no values');
  });
});

describe('history of past runs', () => {
  let state: ReturnType<typeof tempStateDir>;
  beforeAll(() => {
    state = tempStateDir();
    // Five real succeeded runs, oldest first: restore-db 500, 100, 400, 200, 300 ms.
    pastRun(state.dir, 'h1', 1, { restore: 500, verify: 50 });
    pastRun(state.dir, 'h2', 2, { restore: 100, verify: 60 });
    pastRun(state.dir, 'h3', 3, { restore: 400, verify: 70 });
    pastRun(state.dir, 'h4', 4, { restore: 200, verify: 80 });
    pastRun(state.dir, 'h5', 5, { restore: 300, verify: 90 });
    // Ignored: a dry run (newest), a failed step, another runbook.
    pastRun(state.dir, 'h-dry', 9, { restore: 1, dry: true });
    pastRun(state.dir, 'h-failed', 6, { restore: 99_999, fail: true });
    pastRun(state.dir, 'h-other', 7, { restore: 77_777, book: 'other' });
  });
  afterAll(() => state.cleanup());

  it('gives p50/p95 of succeeded steps of real runs', () => {
    const steps = stepDurations(state.dir, 'db-restore');
    expect([...steps.keys()].sort()).toEqual(['restore-db', 'verify']);
    expect(steps.get('restore-db')).toEqual({ n: 5, p50: 300, p95: 500 });
    expect(steps.get('verify')).toEqual({ n: 5, p50: 70, p95: 90 });
  });

  it('looks only at the last `limit` real runs, failed ones included in the window', () => {
    // Newest three non-dry runs: h-failed (no succeeded restore-db), h5 (300), h4 (200).
    expect(stepDurations(state.dir, 'db-restore', { limit: 3 }).get('restore-db')).toEqual({ n: 2, p50: 200, p95: 300 });
    expect(stepDurations(state.dir, 'db-restore', { limit: 1 }).get('restore-db')).toBeUndefined();
  });

  it('gives phase and whole-run durations of succeeded runs', () => {
    // Phase = restore + verify + 3 ms: 553, 163, 473, 283, 393.
    expect(phaseDurations(state.dir, 'db-restore').get('restore')).toEqual({ n: 5, p50: 393, p95: 553 });
    // Run = phase + 2 ms.
    expect(runDurations(state.dir, 'db-restore')).toEqual({ n: 5, p50: 395, p95: 555 });
    expect(runDurations(state.dir, 'other')).toEqual({ n: 1, p50: 77_882, p95: 77_882 });
  });

  it('has nothing to say about a runbook never run for real', () => {
    pastRun(state.dir, 'only-dry', 10, { restore: 5, dry: true, book: 'drill-only' });
    expect(stepDurations(state.dir, 'drill-only').size).toBe(0);
    expect(phaseDurations(state.dir, 'drill-only').size).toBe(0);
    expect(runDurations(state.dir, 'drill-only')).toBeUndefined();
  });

  it('uses the finished steps of a run that is still going', () => {
    pastRun(state.dir, 'live', 11, { restore: 1000, book: 'live-book', unfinished: true });
    expect(stepDurations(state.dir, 'live-book').get('restore-db')).toEqual({ n: 1, p50: 1000, p95: 1000 });
    expect(runDurations(state.dir, 'live-book')).toBeUndefined();
  });
});
