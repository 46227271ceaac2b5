import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderReport } from '../../src/report/index.js';
import { readRunEvents } from '../../src/report/read.js';
import { Journal, approvalRun, failedRun, succeededRun, tempStateDir, tornRun } from './journals.js';
import { findAll, parseXml, type XmlElement } from './xml.js';

let state: ReturnType<typeof tempStateDir>;
const junit = (id: string) => parseXml(renderReport(readRunEvents(state.dir, id), 'junit'));
const caseSummary = (suite: XmlElement) =>
  findAll(suite, 'testcase').map((c) => {
    const failure = findAll(c, 'failure')[0];
    const skipped = findAll(c, 'skipped')[0];
    return [c.attrs.classname, c.attrs.name, c.attrs.time, failure ? `failure:${failure.attrs.type}` : skipped ? `skipped:${skipped.attrs.message}` : 'ok'];
  });

beforeAll(() => {
  state = tempStateDir();
  succeededRun().write(state.dir);
  failedRun().write(state.dir);
  approvalRun().write(state.dir);
  const torn = tornRun();
  torn.journal.write(state.dir, torn.tail);
  new Journal('r-ansi', '2024-06-01T00:00:00.000Z')
    .at(0, { type: 'run.started', runbook: 'odd-chars', file: 'x.yaml', params: {}, objectives: { on_exceeded: 'warn' }, dry_run: false, outline: [], pid: 1, host: 'h', user: 'u' })
    .at(1, { type: 'phase.started', phase: 'p' })
    .at(2, { type: 'step.started', step: 's', phase: 'p', attempt: 1 })
    .at(3, { type: 'step.finished', step: 's', phase: 'p', status: 'failed', attempts: 1, duration_ms: 1, outputs: {}, error: '\u001b[31mexit 1\u001b[0m: a & b < c > d "q" \'a\' ]]>\nsecond line' })
    .at(4, { type: 'phase.finished', phase: 'p', status: 'failed', duration_ms: 3, within_budget: null })
    .at(5, { type: 'run.finished', status: 'failed', duration_ms: 5, rto_met: null, measures: {} })
    .write(state.dir);
});
afterAll(() => state.cleanup());

describe('junit report', () => {
  it('has one testsuite per phase and one testcase per step', () => {
    const root = junit('r-ok');
    expect(root.name).toBe('testsuites');
    expect(root.attrs).toEqual({ name: 'db-restore', tests: '5', failures: '0', errors: '0', skipped: '0', time: '20.080' });
    const suites = findAll(root, 'testsuite');
    expect(suites.map((s) => [s.attrs.name, s.attrs.tests, s.attrs.time, s.attrs.timestamp])).toEqual([
      ['db-restore.detect', '2', '2.025', '2024-05-01T12:00:00'],
      ['db-restore.restore', '3', '18.030', '2024-05-01T12:00:02'],
    ]);
    expect(caseSummary(root)).toEqual([
      ['db-restore.detect', 'check-db', '2.000', 'ok'],
      ['db-restore.detect', 'notify', '0.002', 'ok'],
      ['db-restore.restore', 'stop-app', '2.000', 'ok'],
      ['db-restore.restore', 'fetch-backup', '6.000', 'ok'],
      ['db-restore.restore', 'restore-db', '12.000', 'ok'],
    ]);
    expect(findAll(suites[0], 'property').map((p) => [p.attrs.name, p.attrs.value])).toEqual([
      ['run', 'r-ok'],
      ['run_status', 'succeeded'],
      ['dry_run', 'false'],
      ['drill', 'false'],
    ]);
  });

  it('reports failures, rollbacks as extra testcases, and steps never run as skipped', () => {
    const root = junit('r-fail');
    expect(root.attrs).toMatchObject({ tests: '7', failures: '2', skipped: '1' });
    expect(caseSummary(root)).toEqual([
      ['app-migrate.contain', 'stop-app', '1.000', 'ok'],
      ['app-migrate.contain', 'maintenance', '0.500', 'ok'],
      ['app-migrate.contain', 'migrate', '30.000', 'failure:timed_out'],
      ['app-migrate.contain', 'rollback:migrate', '1.000', 'ok'],
      ['app-migrate.contain', 'rollback:maintenance', '0.500', 'failure:failed'],
      ['app-migrate.contain', 'rollback:stop-app', '2.000', 'ok'],
      ['app-migrate.verify', 'smoke', '0.000', 'skipped:not run'],
    ]);
    const failure = findAll(root, 'failure')[0];
    expect(failure.attrs.message).toBe('timed out after 30s');
    expect(failure.text).toBe('timed out after 30s\nALTER TABLE "trades" & <locks>');
    const suites = findAll(root, 'testsuite');
    expect(suites.map((s) => [s.attrs.name, s.attrs.tests, s.attrs.failures, s.attrs.skipped])).toEqual([
      ['app-migrate.contain', '6', '2', '0'],
      ['app-migrate.verify', '1', '0', '1'],
    ]);
  });

  it('counts a guard-skipped step as skipped', () => {
    const root = junit('r-approve');
    expect(root.attrs).toMatchObject({ tests: '4', failures: '0', skipped: '1' });
    expect(caseSummary(root)[2]).toEqual(['config-rollback.main', 'purge-cache', '0.000', 'skipped:skipped']);
  });

  it('marks a step cut off by a crash as failed and the rest as not run', () => {
    const root = junit('r-torn');
    expect(caseSummary(root)).toEqual([
      ['db-restore.detect', 'check-db', '0.000', 'failure:running'],
      ['db-restore.detect', 'notify', '0.000', 'skipped:not run'],
      ['db-restore.restore', 'stop-app', '0.000', 'skipped:not run'],
      ['db-restore.restore', 'fetch-backup', '0.000', 'skipped:not run'],
      ['db-restore.restore', 'restore-db', '0.000', 'skipped:not run'],
    ]);
    expect(findAll(root, 'failure')[0].attrs.message).toBe('did not finish: the run is incomplete');
  });

  it('escapes markup and drops characters XML cannot hold', () => {
    const xml = renderReport(readRunEvents(state.dir, 'r-ansi'), 'junit');
    expect(xml).toContain(
      '<failure message="[31mexit 1[0m: a &amp; b &lt; c &gt; d &quot;q&quot; &apos;a&apos; ]]&gt;" type="failed">[31mexit 1[0m: a &amp; b &lt; c &gt; d &quot;q&quot; &apos;a&apos; ]]&gt;\nsecond line</failure>',
    );
    const failure = findAll(parseXml(xml), 'failure')[0];
    expect(failure.text).toBe('[31mexit 1[0m: a & b < c > d "q" \'a\' ]]>\nsecond line');
  });

  it('the checker itself rejects malformed XML', () => {
    expect(() => parseXml('<a><b></a></b>')).toThrow('</a> at 6 closes <b>');
    expect(() => parseXml('<a x="1 & 2"/>')).toThrow("bare '&'");
    expect(() => parseXml('<a>1 < 2</a>')).toThrow('malformed markup');
    expect(() => parseXml('<a>')).toThrow('unclosed <a>');
  });
});
