import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderReport, summarizeRun } from '../../src/report/index.js';
import { formatDuration, formatOffset } from '../../src/report/format.js';
import { readRunEvents } from '../../src/report/read.js';
import { Journal, approvalRun, failedRun, succeededRun, tempStateDir } from './journals.js';

let state: ReturnType<typeof tempStateDir>;
const report = (id: string) => summarizeRun(readRunEvents(state.dir, id));

beforeAll(() => {
  state = tempStateDir();
  succeededRun().write(state.dir);
  failedRun().write(state.dir);
  approvalRun().write(state.dir);
  // A resumed run: the second process journals run.resumed and a fresh run.started.
  new Journal('r-resumed', '2024-07-01T00:00:00.000Z')
    .at(0, { type: 'run.started', runbook: 'rb', file: 'rb.yaml', params: {}, objectives: { rpo_ms: 1000, on_exceeded: 'warn' }, dry_run: false, outline: [{ id: 'p', steps: [{ id: 'a', type: 'shell', needs: [], has_rollback: false }] }], pid: 1, host: 'h', user: 'u' })
    .at(1, { type: 'phase.started', phase: 'p' })
    .at(2, { type: 'step.started', step: 'a', phase: 'p', attempt: 1 })
    .at(60_000, { type: 'run.started', runbook: 'rb', file: 'rb.yaml', params: {}, objectives: { rpo_ms: 1000, on_exceeded: 'warn' }, dry_run: false, outline: [], pid: 2, host: 'h', user: 'u', resumed: true })
    .at(60_001, { type: 'run.resumed', pid: 2, inflight: [{ step: 'a', decision: 'rerun' }] })
    .at(60_002, { type: 'step.started', step: 'a', phase: 'p', attempt: 1 })
    .at(61_002, { type: 'step.finished', step: 'a', phase: 'p', status: 'succeeded', attempts: 1, duration_ms: 1000, outputs: {} })
    .at(61_003, { type: 'phase.finished', phase: 'p', status: 'succeeded', duration_ms: 61_002, within_budget: null })
    .at(61_004, { type: 'run.finished', status: 'succeeded', duration_ms: 61_004, rto_met: null, measures: { rpo: '2500' } })
    .write(state.dir);
});
afterAll(() => state.cleanup());

describe('summarizeRun', () => {
  it('builds run info, RTO/RPO, phases and steps of a succeeded run', () => {
    const r = report('r-ok');
    expect(r.run).toEqual({
      id: 'r-ok',
      runbook: 'db-restore',
      title: 'Database corruption — restore from backup',
      severity: 'P0',
      file: 'runbooks/db-restore.yaml',
      kind: 'incident',
      dry_run: false,
      drill: false,
      status: 'succeeded',
      started_at: '2024-05-01T12:00:00.000Z',
      finished_at: '2024-05-01T12:00:20.080Z',
      duration_ms: 20_080,
      error: undefined,
      host: 'dr-host',
      user: 'alice',
      pid: 4242,
      resumes: 0,
    });
    expect(r.rto).toEqual({ objective_ms: 300_000, achieved_ms: 20_080, met: true });
    expect(r.rpo).toEqual({ objective_ms: 60_000, measured_ms: 1500, met: true, data_loss: 'Yes — up to 1.5s of writes before the incident' });
    expect(r.params).toEqual({ target: 'staging', db_password: '***' });
    expect(r.phases.map((p) => [p.id, p.status, p.duration_ms, p.budget_ms, p.within_budget, p.steps])).toEqual([
      ['detect', 'succeeded', 2025, 60_000, true, ['check-db', 'notify']],
      ['restore', 'succeeded', 18_030, 120_000, true, ['stop-app', 'fetch-backup', 'restore-db']],
    ]);
    expect(r.steps[0]).toEqual({
      id: 'check-db',
      phase: 'detect',
      top_phase: 'detect',
      title: 'Check the database',
      type: 'sql',
      depth: 0,
      status: 'succeeded',
      attempts: 2,
      max_attempts: 2,
      started_at: '2024-05-01T12:00:00.010Z',
      start_offset_ms: 10,
      finished_at: '2024-05-01T12:00:02.010Z',
      duration_ms: 2000,
      error: undefined,
      outputs: { corrupt: true },
      where: undefined,
      rollback: null,
    });
    expect(r.notes).toEqual([{ at: '2024-05-01T12:00:02.021Z', offset_ms: 2021, step: 'notify', phase: 'detect', text: 'Stakeholders notified | #ops' }]);
    // step.output and step.progress are not timeline material.
    expect(r.timeline).toHaveLength(18);
  });

  it('records rollbacks on the report and on their steps', () => {
    const r = report('r-fail');
    expect(r.rollbacks).toEqual([
      { step: 'migrate', phase: 'contain', status: 'succeeded', started_at: '2024-05-02T09:00:31.505Z', start_offset_ms: 31_505, duration_ms: 1000, error: undefined },
      { step: 'maintenance', phase: 'contain', status: 'failed', started_at: '2024-05-02T09:00:32.506Z', start_offset_ms: 32_506, duration_ms: 500, error: 'HTTP 500 | upstream down' },
      { step: 'stop-app', phase: 'contain', status: 'succeeded', started_at: '2024-05-02T09:00:33.007Z', start_offset_ms: 33_007, duration_ms: 2000, error: undefined },
    ]);
    expect(r.steps.map((s) => [s.id, s.status, s.rollback])).toEqual([
      ['stop-app', 'succeeded', 'succeeded'],
      ['maintenance', 'succeeded', 'failed'],
      ['migrate', 'timed_out', 'succeeded'],
      ['smoke', 'pending', null],
    ]);
    expect(r.rto).toEqual({ objective_ms: 60_000, achieved_ms: undefined, met: false });
    expect(r.rpo).toEqual({ objective_ms: undefined, measured_ms: undefined, met: null, data_loss: 'Unknown (RPO not measured)' });
    expect(r.warnings).toEqual([{ at: '2024-05-02T09:00:10.001Z', offset_ms: 10_001, code: 'PHASE_BUDGET', message: "phase 'contain' passed its budget of 10s", phase: 'contain', step: undefined }]);
  });

  it('records decisions with who made them', () => {
    const r = report('r-approve');
    expect(r.decisions).toEqual([{ at: '2024-05-03T15:31:05.004Z', offset_ms: 65_004, step: 'gate', decision: 'approved', by: 'carol', message: 'go ahead' }]);
    expect(r.steps.map((s) => [s.id, s.status])).toEqual([
      ['gate', 'succeeded'],
      ['notify', 'succeeded'],
      ['purge-cache', 'skipped'],
      ['apply', 'succeeded'],
    ]);
    expect(r.rto).toEqual({ objective_ms: undefined, achieved_ms: 66_512, met: null });
  });

  it('counts a resume once and reads a numeric-string RPO measure', () => {
    const r = report('r-resumed');
    expect(r.run.resumes).toBe(1);
    expect(r.rpo).toEqual({ objective_ms: 1000, measured_ms: 2500, met: false, data_loss: 'Yes — up to 2.5s of writes before the incident' });
    expect(r.steps[0]).toMatchObject({ id: 'a', status: 'succeeded', started_at: '2024-07-01T00:00:00.002Z', duration_ms: 1000 });
    expect(r.timeline.filter((e) => e.kind === 'run').map((e) => [e.event, e.note])).toEqual([
      ['run started', 'by u@h'],
      ['run resumed', 'pid 2 by u@h'],
      ['run resumed', 'in-flight: rerun a'],
      ['run finished', undefined],
    ]);
  });

  it('refuses events without run.started', () => {
    expect(() => summarizeRun([])).toThrow('the journal has no run.started event');
  });
});

describe('json report', () => {
  it('is the RunReport, pretty-printed', () => {
    const events = readRunEvents(state.dir, 'r-fail');
    const text = renderReport(events, 'json');
    expect(text.startsWith('{\n  "run": {\n    "id": "r-fail",')).toBe(true);
    expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(summarizeRun(events))));
  });

  it('rejects an unknown format', () => {
    expect(() => renderReport(readRunEvents(state.dir, 'r-ok'), 'html' as 'md')).toThrow("unknown report format 'html' (expected md, json, junit, prometheus)");
  });
});

describe('time formats', () => {
  it('formats durations in the DSL notation', () => {
    expect([0, 2, 999, 1000, 1500, 20_080, 59_999, 60_000, 66_512, 125_300, 3_600_000, 5_400_000, 5_430_000].map(formatDuration)).toEqual([
      '0ms', '2ms', '999ms', '1s', '1.5s', '20.08s', '59.999s', '1m', '1m6.5s', '2m5.3s', '1h', '1h30m', '1h30m30s',
    ]);
  });
  it('formats offsets from the run start', () => {
    expect([0, 1234, 65_004, 754_567, 3_723_456].map(formatOffset)).toEqual(['+00:00.000', '+00:01.234', '+01:05.004', '+12:34.567', '+1:02:03.456']);
  });
});
