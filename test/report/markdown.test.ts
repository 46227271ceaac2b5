import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderReport } from '../../src/report/index.js';
import { readRunEvents } from '../../src/report/read.js';
import { tempStateDir, writeFixtureRuns } from './journals.js';

let state: ReturnType<typeof tempStateDir>;
const md = (id: string, now?: Date) => renderReport(readRunEvents(state.dir, id), 'md', { now });

/** The lines of one `## heading` section, without the blank lines around it. */
function section(text: string, heading: string): string[] {
  const lines = text.split('\n');
  const start = lines.indexOf(`## ${heading}`);
  if (start < 0) throw new Error(`no section ${heading}`);
  const end = lines.findIndex((l, i) => i > start && (l.startsWith('## ') || l === '---'));
  return lines.slice(start + 1, end < 0 ? undefined : end).filter((l) => l !== '');
}

beforeAll(() => {
  state = tempStateDir();
  writeFixtureRuns(state.dir);
});
afterAll(() => state.cleanup());

describe('markdown report of a succeeded incident run', () => {
  it('has the title, summary and timeline in time order', () => {
    const text = md('r-ok');
    expect(text.split('\n')[0]).toBe('# Incident Report: Database corruption — restore from backup');
    expect(section(text, 'Summary')).toEqual([
      '| Field | Value |',
      '| --- | --- |',
      '| Runbook | db-restore |',
      '| Severity | P0 |',
      '| Run | r-ok |',
      '| Mode | incident |',
      '| Started | 2024-05-01 12:00:00 UTC |',
      '| Finished | 2024-05-01 12:00:20 UTC |',
      '| Duration | 20.08s |',
      '| Status | ✅ succeeded |',
      '| RTO | ✅ 20.08s (objective 5m) |',
      '| RPO | ✅ 1.5s (objective 1m) |',
      '| Data loss | Yes — up to 1.5s of writes before the incident |',
      '| Operator | alice@dr-host |',
      '| File | runbooks/db-restore.yaml |',
      '| Impact | _To be written: customer impact, revenue impact, affected services._ |',
    ]);
    expect(section(text, 'Timeline')).toEqual([
      '| Time | Phase | Step | Event | Status | Duration | Note |',
      '| --- | --- | --- | --- | --- | --- | --- |',
      '| +00:00.000 |  |  | run started |  |  | by alice@dr-host |',
      '| +00:00.005 | detect |  | phase started |  |  | Detection & assessment, budget 1m |',
      '| +00:00.010 | detect | check-db | started | running |  | Check the database |',
      '| +00:01.510 | detect | check-db | attempt 2/2 | running |  |  |',
      '| +00:02.010 | detect | check-db | finished | succeeded | 2s |  |',
      '| +00:02.020 | detect | notify | started | running |  |  |',
      '| +00:02.021 | detect | notify | note |  |  | Stakeholders notified \\| #ops |',
      '| +00:02.022 | detect | notify | finished | succeeded | 2ms |  |',
      '| +00:02.030 | detect |  | phase finished | succeeded | 2.025s | within budget 1m |',
      '| +00:02.040 | restore |  | phase started |  |  | Recovery, budget 2m |',
      '| +00:02.050 | restore | stop-app | started | running |  | Stop the trading service |',
      '| +00:02.051 | restore | fetch-backup | started | running |  | Fetch the latest backup |',
      '| +00:04.050 | restore | stop-app | finished | succeeded | 2s |  |',
      '| +00:08.051 | restore | fetch-backup | finished | succeeded | 6s |  |',
      '| +00:08.060 | restore | restore-db | started | running |  | Restore the database |',
      '| +00:20.060 | restore | restore-db | finished | succeeded | 12s |  |',
      '| +00:20.070 | restore |  | phase finished | succeeded | 18.03s | within budget 2m |',
      '| +00:20.080 |  |  | run finished | succeeded | 20.08s |  |',
    ]);
  });

  it('lists recovery actions, phase budgets, notes, measures and masked params', () => {
    const text = md('r-ok');
    expect(section(text, 'Recovery Actions Taken')).toEqual([
      '1. +00:00.010 — Check the database (`check-db`, detect, 2s)',
      '2. +00:02.020 — `notify` (detect, 2ms)',
      '3. +00:02.050 — Stop the trading service (`stop-app`, restore, 2s)',
      '4. +00:02.051 — Fetch the latest backup (`fetch-backup`, restore, 6s)',
      '5. +00:08.060 — Restore the database (`restore-db`, restore, 12s)',
    ]);
    expect(section(text, 'Phase Budgets')).toEqual([
      '| Phase | Title | Status | Duration | Budget | Result |',
      '| --- | --- | --- | --- | --- | --- |',
      '| detect | Detection & assessment | succeeded | 2.025s | 1m | ✅ within |',
      '| restore | Recovery | succeeded | 18.03s | 2m | ✅ within |',
    ]);
    expect(section(text, 'Rollbacks Performed')).toEqual(['_None._']);
    expect(section(text, 'Operator Decisions')).toEqual(['_None._']);
    expect(section(text, 'Notes')).toEqual(['- +00:02.021 `notify`: Stakeholders notified | #ops']);
    expect(section(text, 'Warnings')).toEqual(['_None._']);
    expect(section(text, 'Measures')).toEqual(['| Name | Value |', '| --- | --- |', '| rpo | 1500 |']);
    expect(section(text, 'Parameters')).toEqual(['| Name | Value |', '| --- | --- |', '| target | staging |', '| db_password | *** |']);
    expect(section(text, 'Metrics')).toEqual([
      '- **RTO Achieved**: ✅ 20.08s (objective 5m)',
      '- **RPO Achieved**: ✅ 1.5s (objective 1m)',
      '- **Data Loss**: Yes — up to 1.5s of writes before the incident',
    ]);
  });

  it("keeps the DR guide's template sections, in its order, the human parts as headed places to write", () => {
    const text = md('r-ok');
    const headings = text.split('\n').filter((l) => l.startsWith('## '));
    const template = ['Summary', 'Timeline', 'Root Cause Analysis', 'Recovery Actions Taken', 'Metrics', 'Action Items', 'Lessons Learned', 'Prevention Measures'];
    expect(headings.filter((h) => template.includes(h.slice(3)))).toEqual(template.map((h) => `## ${h}`));
    expect(section(text, 'Root Cause Analysis')).toEqual(['**Root Cause**: _To be written._', '**Contributing Factors**:', '1. _To be written._']);
    expect(section(text, 'Action Items')).toEqual([
      '| Item | Owner | Priority | Due Date | Status |',
      '| --- | --- | --- | --- | --- |',
      '| _To be written._ |  |  |  | Open |',
    ]);
    expect(section(text, 'Lessons Learned')).toEqual(['**What Went Well**:', '- _To be written._', '**What Needs Improvement**:', '- _To be written._']);
    expect(section(text, 'Prevention Measures')).toEqual(['1. _To be written._']);
  });

  it('is deterministic, and shows the generation time only when given', () => {
    expect(md('r-ok')).toBe(md('r-ok'));
    expect(md('r-ok')).not.toContain('Generated');
    expect(md('r-ok', new Date('2024-05-01T13:00:00Z')).endsWith('---\n\n_Generated 2024-05-01 13:00:00 UTC by runbook._\n')).toBe(true);
  });
});

describe('markdown report of a failed run', () => {
  it('shows the failure, RTO missed, rollbacks (with the failed one) and the budget warning', () => {
    const text = md('r-fail');
    expect(section(text, 'Summary').slice(8)).toEqual([
      '| Duration | 35.01s |',
      '| Status | ❌ rollback_failed — a human must act |',
      '| RTO | ❌ not achieved (objective 1m) |',
      '| RPO | not measured (no objective) |',
      '| Data loss | Unknown (RPO not measured) |',
      '| Operator | alice@dr-host |',
      '| File | runbooks/app-migrate.yaml |',
      '| Impact | _To be written: customer impact, revenue impact, affected services._ |',
      "| Error | step 'migrate' timed_out |",
    ]);
    const timeline = section(text, 'Timeline');
    expect(timeline.slice(8)).toEqual([
      '| +00:01.504 | contain | migrate | started | running |  |  |',
      "| +00:10.001 | contain |  | warning | PHASE_BUDGET |  | phase 'contain' passed its budget of 10s |",
      '| +00:31.504 | contain | migrate | finished | timed_out | 30s | timed out after 30s<br>ALTER TABLE "trades" & &lt;locks> |',
      '| +00:31.505 | contain | migrate | rollback started | running |  |  |',
      '| +00:32.505 | contain | migrate | rollback finished | succeeded | 1s |  |',
      '| +00:32.506 | contain | maintenance | rollback started | running |  |  |',
      '| +00:33.006 | contain | maintenance | rollback finished | failed | 500ms | HTTP 500 \\| upstream down |',
      '| +00:33.007 | contain | stop-app | rollback started | running |  |  |',
      '| +00:35.007 | contain | stop-app | rollback finished | succeeded | 2s |  |',
      '| +00:35.008 | contain |  | phase finished | failed | 35.007s | over budget 10s |',
      "| +00:35.010 |  |  | run finished | rollback_failed | 35.01s | step 'migrate' timed_out |",
    ]);
    expect(section(text, 'Recovery Actions Taken')).toEqual([
      '1. +00:00.002 — `stop-app` (contain, 1s) — rolled back',
      '2. +00:01.003 — Maintenance &lt;on> (`maintenance`, contain, 500ms) — rollback failed',
    ]);
    expect(section(text, 'Phase Budgets').slice(2)).toEqual([
      '| contain |  | failed | 35.007s | 10s | ❌ over by 25.007s |',
      '| verify |  | pending | — | — | — |',
    ]);
    expect(section(text, 'Rollbacks Performed')).toEqual([
      '| Time | Step | Phase | Status | Duration | Error |',
      '| --- | --- | --- | --- | --- | --- |',
      '| +00:31.505 | migrate | contain | succeeded | 1s |  |',
      '| +00:32.506 | maintenance | contain | failed | 500ms | HTTP 500 \\| upstream down |',
      '| +00:33.007 | stop-app | contain | succeeded | 2s |  |',
    ]);
    expect(section(text, 'Warnings')).toEqual([
      '| Time | Code | Phase | Step | Message |',
      '| --- | --- | --- | --- | --- |',
      "| +00:10.001 | PHASE_BUDGET | contain |  | phase 'contain' passed its budget of 10s |",
    ]);
    expect(section(text, 'Parameters')).toEqual(['_None._']);
  });
});

describe('markdown report with an approval, a note and a skipped step', () => {
  it('records the operator decision with who made it', () => {
    const text = md('r-approve');
    expect(text.split('\n')[0]).toBe('# Incident Report: config-rollback');
    expect(section(text, 'Summary')).toContain('| Severity | — |');
    expect(section(text, 'Summary')).toContain('| RTO | 1m6.5s (no objective) |');
    expect(section(text, 'Timeline').slice(5, 11)).toEqual([
      '| +01:05.004 | main | gate | decision: approved |  |  | by carol: go ahead |',
      '| +01:05.005 | main | gate | finished | succeeded | 1m5s |  |',
      '| +01:05.006 | main | notify | started | running |  |  |',
      '| +01:05.007 | main | notify | note |  |  | Stakeholders notified |',
      '| +01:05.008 | main | notify | finished | succeeded | 2ms |  |',
      '| +01:05.009 | main | purge-cache | finished | skipped | 0ms |  |',
    ]);
    expect(section(text, 'Operator Decisions')).toEqual([
      '| Time | Step | Decision | By | Message |',
      '| --- | --- | --- | --- | --- |',
      '| +01:05.004 | gate | approved | carol | go ahead |',
    ]);
    expect(section(text, 'Notes')).toEqual(['- +01:05.007 `notify`: Stakeholders notified']);
    expect(section(text, 'Recovery Actions Taken')).toEqual([
      '1. +00:00.004 — `gate` (main, 1m5s)',
      '2. +01:05.006 — `notify` (main, 2ms)',
      '3. +01:05.010 — Apply config v1.2.3 (`apply`, main, 1.5s)',
    ]);
  });
});

describe('markdown report of an incomplete run and of a dry run', () => {
  it('reports a run whose process died as incomplete', () => {
    const text = md('r-torn');
    expect(section(text, 'Summary').slice(7, 13)).toEqual([
      '| Finished | — (incomplete) |',
      '| Duration | — |',
      '| Status | ⚠️ incomplete (no run.finished: still running or the process died) |',
      '| RTO | not achieved yet (objective 5m) |',
      '| RPO | not measured (objective 1m) |',
      '| Data loss | Unknown (RPO not measured) |',
    ]);
    expect(section(md('r-torn', new Date('2024-05-04T08:02:03.500Z')), 'Summary')).toContain('| Duration | 2m3.5s so far |');
    expect(section(text, 'Phase Budgets').slice(2)).toEqual([
      '| detect | Detection & assessment | running | — | 1m | — |',
      '| restore | Recovery | pending | — | 2m | — |',
    ]);
  });

  it('titles a dry run as such and leaves out the post-mortem prompts', () => {
    const text = md('r-dry');
    expect(text.split('\n')[0]).toBe('# Dry Run Report: Database corruption — restore from backup');
    expect(section(text, 'Summary')).toContain('| Mode | dry run (nothing was changed) |');
    expect(section(text, 'Summary').some((l) => l.startsWith('| Impact '))).toBe(false);
    expect(section(text, 'Summary')).toContain('| Data loss | No (dry run: nothing was changed) |');
    expect(section(text, 'Timeline')[2]).toBe('| +00:00.000 |  |  | run started |  |  | dry run by alice@dr-host |');
    expect(text).not.toContain('## Root Cause Analysis');
    expect(text).not.toContain('## Action Items');
  });
});
