/**
 * Reports of v2 journals (spec §8): every step is an instance address. The markdown timeline, JUnit
 * (parsed by an independent JUnit consumer, junit2json, besides our own XML checks) and Prometheus
 * (checked by promtool when installed) key on the address; Prometheus carries no per-run or per-item label.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseJunit } from 'junit2json';
import { renderReport, summarizeRun } from '../../src/report/index.js';
import { listRuns, readRunEvents } from '../../src/report/read.js';
import { tempStateDir } from './journals.js';
import { resumedRollingRun, rollingRun } from './journals-v2.js';
import { findAll, parseXml } from './xml.js';

let state: ReturnType<typeof tempStateDir>;
const events = (id: string) => readRunEvents(state.dir, id);

beforeAll(() => {
  state = tempStateDir();
  rollingRun().write(state.dir);
  rollingRun('r-drill', '2026-12-01T12:00:00.000Z', { drill: true }).write(state.dir);
  resumedRollingRun().write(state.dir);
});
afterAll(() => state.cleanup());

function section(text: string, heading: string): string[] {
  const lines = text.split('\n');
  const start = lines.indexOf(`## ${heading}`);
  const end = lines.findIndex((l, i) => i > start && l.startsWith('## '));
  return lines.slice(start + 1, end < 0 ? undefined : end).filter((l) => l !== '');
}

describe('the report model of a for_each over a sub-runbook', () => {
  it('has one step record per instance, under the top-level phase, with its item, and the for_each counts', () => {
    const r = summarizeRun(events('r-rolling'));
    expect(r.steps.map((s) => [s.id, s.status, s.depth, s.top_phase])).toEqual([
      ['list-hosts', 'succeeded', 0, 'drain'],
      ['restart-each', 'failed', 0, 'drain'],
      ['restart-each[0]', 'succeeded', 1, 'drain'],
      ['restart-each[0].mark-draining', 'succeeded', 2, 'drain'],
      ['restart-each[0].healthy', 'succeeded', 2, 'drain'],
      ['restart-each[1]', 'timed_out', 1, 'drain'],
      ['restart-each[1].mark-draining', 'succeeded', 2, 'drain'],
      ['restart-each[1].healthy', 'timed_out', 2, 'drain'],
      ['cleanup', 'succeeded', 0, 'finally'],
      ['check', 'pending', 0, 'drain'],
    ]);
    expect(r.steps.find((s) => s.id === 'restart-each')).toMatchObject({
      started_at: '2026-12-01T10:00:00.200Z',
      duration_ms: 8_810,
      items: { succeeded: 1, failed: 0, timed_out: 1, skipped: 0, cancelled: 0 },
    });
    expect(r.steps.find((s) => s.id === 'restart-each[1]')).toMatchObject({ index: 1, item: 'web-2', title: 'Restart each host', type: 'runbook' });
    expect(r.steps.find((s) => s.id === 'restart-each[1].mark-draining')).toMatchObject({ phase: 'restart-each[1]/cycle', rollback: 'succeeded' });
    // the sub-runbook's phases belong to the instances that run them
    expect(r.phases.map((p) => [p.id, p.status, p.started_at, p.duration_ms])).toEqual([
      ['drain', 'failed', '2026-12-01T10:00:00.010Z', 9_010],
      ['finally', 'succeeded', '2026-12-01T10:00:09.250Z', 41],
    ]);
    expect(r.rollbacks.map((b) => [b.step, b.status])).toEqual([
      ['restart-each[1].mark-draining', 'succeeded'],
      ['restart-each[0].mark-draining', 'succeeded'],
    ]);
  });

  it('after a resume keeps the original phase start and counts the phase from it', () => {
    const r = summarizeRun(events('r-rolling-resumed'));
    expect(r.run).toMatchObject({ resumes: 1, status: 'succeeded', duration_ms: 63_230 });
    // the second process's phase.finished says 210 ms; the phase ran from 00:00.010 to 01:03.220
    expect(r.phases[0]).toMatchObject({ id: 'drain', started_at: '2026-12-01T11:00:00.010Z', start_offset_ms: 10, duration_ms: 63_210, budget_ms: 60_000, within_budget: false });
    expect(r.steps.find((s) => s.id === 'restart-each[1].healthy')).toMatchObject({ status: 'succeeded', started_at: '2026-12-01T11:00:03.230Z', duration_ms: 110 });
  });
});

describe('history', () => {
  it('tells a drill from an incident', () => {
    expect(listRuns(state.dir, 'rolling-restart').filter((r) => r.run !== 'r-twice').map((r) => [r.run, r.status, r.drill])).toEqual([
      ['r-drill', 'rolled_back', true],
      ['r-rolling-resumed', 'succeeded', false],
      ['r-rolling', 'rolled_back', false],
    ]);
  });
});

describe('markdown', () => {
  it('titles a run --drill "DR Drill Report" and keeps the post-mortem sections', () => {
    const text = renderReport(events('r-drill'), 'md');
    expect(text.split('\n')[0]).toBe('# DR Drill Report: Rolling restart of the web tier');
    expect(section(text, 'Summary')).toContain('| Mode | DR drill (a real run) |');
    expect(text).toContain('## Root Cause Analysis');
    expect(text).toContain('## Lessons Learned');
    expect(renderReport(events('r-rolling'), 'md').split('\n')[0]).toBe('# Incident Report: Rolling restart of the web tier');
    expect(findAll(parseXml(renderReport(events('r-drill'), 'junit')), 'property').filter((p) => p.attrs.name === 'drill').map((p) => p.attrs.value)).toEqual(['true', 'true']);
  });

  it('has a timeline row per instance event, by address, with the item, and the for_each counts', () => {
    const text = renderReport(events('r-rolling'), 'md');
    const timeline = section(text, 'Timeline');
    expect(timeline).toContain('| +00:03.000 | drain | restart-each[1] | started | running |  | item web-2 |');
    expect(timeline).toContain('| +00:08.230 | restart-each[1]/cycle | restart-each[1].healthy | finished | timed_out | 5s | condition not met within 5s (4 polls) |');
    expect(timeline).toContain('| +00:09.010 | drain | restart-each | finished | failed | 8.81s | items: 1 succeeded, 1 timed_out; 1 of 2 items failed |');
    // each instance's rollback once, not one address twice
    expect(timeline.filter((l) => l.includes('rollback started'))).toEqual([
      '| +00:09.030 | restart-each[1]/cycle | restart-each[1].mark-draining | rollback started | running |  |  |',
      '| +00:09.140 | restart-each[0]/cycle | restart-each[0].mark-draining | rollback started | running |  |  |',
    ]);
    expect(section(text, 'Recovery Actions Taken')).toEqual([
      '1. +00:00.020 — List the web hosts (`list-hosts`, drain, 100ms)',
      '2. +00:00.200 — Restart each host (`restart-each`, drain, 8.81s, items: 1 succeeded, 1 timed_out)',
      '3. +00:09.250 — `cleanup` (finally, 41ms)',
    ]);
    expect(section(text, 'Metrics')).toEqual(['- **RTO Achieved**: ❌ not achieved (objective 2m)', '- **RPO Achieved**: not measured (objective 0ms)', '- **Data Loss**: Unknown (RPO not measured)']);
    expect(section(renderReport(events('r-rolling-resumed'), 'md'), 'Phase Budgets').slice(2)).toEqual(['| drain | Drain and restart | succeeded | 1m3.2s | 1m | ❌ over by 3.21s |']);
  });
});

describe('junit', () => {
  it('has one uniquely named testcase per instance, read the same by junit2json', async () => {
    const xml = renderReport(events('r-rolling'), 'junit');
    const own = parseXml(xml);
    const cases = findAll(own, 'testcase').map((c) => c.attrs.name);
    expect(cases).toEqual([
      'list-hosts',
      'restart-each',
      'restart-each[0]',
      'restart-each[0].mark-draining',
      'restart-each[0].healthy',
      'restart-each[1]',
      'restart-each[1].mark-draining',
      'restart-each[1].healthy',
      'check',
      'rollback:restart-each[1].mark-draining',
      'rollback:restart-each[0].mark-draining',
      'cleanup',
    ]);
    expect(new Set(cases).size).toBe(cases.length);

    const parsed = await parseJunit(xml);
    if (!parsed || !('testsuite' in parsed)) throw new Error('junit2json did not read a <testsuites>');
    expect(parsed).toMatchObject({ name: 'rolling-restart', tests: 12, failures: 3, errors: 0, time: 9.3 });
    const suites = parsed.testsuite!;
    expect(suites.map((s) => [s.name, s.tests, s.failures, s.skipped, s.time, s.timestamp])).toEqual([
      ['rolling-restart.drain', 11, 3, 1, 9.01, '2026-12-01T10:00:00'],
      ['rolling-restart.finally', 1, 0, 0, 0.041, '2026-12-01T10:00:09'],
    ]);
    expect(suites.flatMap((s) => s.testcase ?? []).map((c) => c.name)).toEqual(cases);
    const healthy = suites[0].testcase!.find((c) => c.name === 'restart-each[1].healthy')!;
    expect(healthy).toMatchObject({ classname: 'rolling-restart.drain', time: 5, failure: [{ type: 'timed_out', message: 'condition not met within 5s (4 polls)' }] });
    expect(suites[1].testcase).toEqual([{ classname: 'rolling-restart.finally', name: 'cleanup', time: 0.041 }]);
    // every suite's counts agree with its testcases, as a JUnit consumer counts them
    for (const s of suites) {
      expect(s.tests).toBe(s.testcase!.length);
      expect(s.failures).toBe(s.testcase!.filter((c) => c.failure).length);
      expect(s.skipped).toBe(s.testcase!.filter((c) => c.skipped).length);
    }
  });

  it('names a rollback that ran twice (a resumed run) apart', () => {
    const j = rollingRun('r-twice', '2026-12-02T10:00:00.000Z');
    const last = j.lines.pop()!;
    j.at(9_295, { type: 'rollback.started', step: 'restart-each[0].mark-draining' }).at(9_296, { type: 'rollback.finished', step: 'restart-each[0].mark-draining', status: 'succeeded', duration_ms: 1 });
    j.lines.push(last);
    j.write(state.dir);
    const names = findAll(parseXml(renderReport(events('r-twice'), 'junit')), 'testcase').map((c) => c.attrs.name);
    expect(names.filter((n) => n.startsWith('rollback:restart-each[0]'))).toEqual(['rollback:restart-each[0].mark-draining', 'rollback:restart-each[0].mark-draining #2']);
  });
});

describe('prometheus', () => {
  const text = () => renderReport(events('r-rolling'), 'prometheus');

  it('carries no per-run or per-item label: the same series for every run, one per top-level step', () => {
    const samples = text().split('\n').filter((l) => l && !l.startsWith('#'));
    expect(samples.filter((l) => /run="|\[\d+\]|\/cycle/.test(l))).toEqual([]);
    const other = renderReport(events('r-drill'), 'prometheus').split('\n').filter((l) => l && !l.startsWith('#'));
    const series = (lines: string[]) => lines.map((l) => l.slice(0, l.lastIndexOf(' ')));
    expect(series(other)).toEqual(series(samples));
    expect(samples.filter((l) => l.startsWith('runbook_step_items'))).toEqual([
      'runbook_step_items{runbook="rolling-restart",phase="drain",step="restart-each",status="succeeded"} 1',
      'runbook_step_items{runbook="rolling-restart",phase="drain",step="restart-each",status="failed"} 0',
      'runbook_step_items{runbook="rolling-restart",phase="drain",step="restart-each",status="timed_out"} 1',
      'runbook_step_items{runbook="rolling-restart",phase="drain",step="restart-each",status="skipped"} 0',
      'runbook_step_items{runbook="rolling-restart",phase="drain",step="restart-each",status="cancelled"} 0',
    ]);
    expect(samples).toContain('runbook_run_status{runbook="rolling-restart",status="rolled_back"} 1');
    expect(samples).toContain('runbook_phase_duration_seconds{runbook="rolling-restart",phase="finally"} 0.041');
    expect(samples.filter((l) => l.startsWith('runbook_step_duration_seconds')).map((l) => /step="([^"]+)"/.exec(l)![1])).toEqual(['list-hosts', 'restart-each', 'cleanup']);
    expect(text().split('\n')[0]).toBe('# runbook rolling-restart run r-rolling (rolled_back)');
    expect(other).toContain('runbook_run_drill{runbook="rolling-restart"} 1');
  });

  const promtool = spawnSync('promtool', ['--version']).status === 0;
  if (!promtool) {
    if (process.env.CI === 'true') throw new Error('promtool is missing (apt-get install prometheus)');
    console.warn('promtool check skipped: promtool is not installed');
  }
  it.skipIf(!promtool)('passes promtool check metrics', () => {
    for (const id of ['r-rolling', 'r-drill', 'r-rolling-resumed']) {
      const check = spawnSync('promtool', ['check', 'metrics'], { input: renderReport(events(id), 'prometheus'), encoding: 'utf8' });
      expect({ id, status: check.status, out: check.stdout + check.stderr }).toEqual({ id, status: 0, out: '' });
    }
  });
});
