import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderReport } from '../../src/report/index.js';
import { escapeLabel } from '../../src/report/prometheus.js';
import { readRunEvents } from '../../src/report/read.js';
import { failedRun, succeededRun, tempStateDir, tornRun } from './journals.js';

let state: ReturnType<typeof tempStateDir>;
const prom = (id: string) => renderReport(readRunEvents(state.dir, id), 'prometheus');

/** Every sample's metric name has exactly one HELP and one TYPE line before its first sample. */
function checkExposition(text: string): void {
  expect(text.endsWith('\n')).toBe(true);
  const declared = new Map<string, { help: number; type: number; sampled: boolean }>();
  for (const line of text.trimEnd().split('\n')) {
    // a comment (not HELP/TYPE) is ignored by every parser
    if (/^# (?!HELP |TYPE )/.test(line)) continue;
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line);
    if (meta) {
      const d = declared.get(meta[2]) ?? { help: 0, type: 0, sampled: false };
      expect(d.sampled, `${meta[2]} declared after its samples`).toBe(false);
      if (meta[1] === 'HELP') d.help++;
      else {
        d.type++;
        expect(meta[3]).toBe('gauge');
      }
      declared.set(meta[2], d);
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*",?)*)\} (-?[0-9.e+]+|NaN|[+-]Inf)$/.exec(line);
    expect(sample, `not a sample line: ${line}`).not.toBeNull();
    const d = declared.get(sample![1]);
    expect(d, `${sample![1]} has no HELP/TYPE`).toMatchObject({ help: 1, type: 1 });
    d!.sampled = true;
  }
}

beforeAll(() => {
  state = tempStateDir();
  succeededRun().write(state.dir);
  failedRun().write(state.dir);
  const torn = tornRun();
  torn.journal.write(state.dir, torn.tail);
});
afterAll(() => state.cleanup());

describe('prometheus report', () => {
  it('exposes run, RTO, RPO, phase and step metrics of a succeeded run', () => {
    const text = prom('r-ok');
    checkExposition(text);
    const samples = text.split('\n').filter((l) => l && !l.startsWith('#') && !l.startsWith('runbook_step_status'));
    expect(samples).toEqual([
      'runbook_run_duration_seconds{runbook="db-restore"} 20.08',
      'runbook_run_status{runbook="db-restore",status="succeeded"} 1',
      'runbook_run_status{runbook="db-restore",status="rolled_back"} 0',
      'runbook_run_status{runbook="db-restore",status="rollback_failed"} 0',
      'runbook_run_status{runbook="db-restore",status="failed"} 0',
      'runbook_run_status{runbook="db-restore",status="aborted"} 0',
      'runbook_run_status{runbook="db-restore",status="incomplete"} 0',
      'runbook_run_success{runbook="db-restore"} 1',
      'runbook_run_dry_run{runbook="db-restore"} 0',
      'runbook_run_drill{runbook="db-restore"} 0',
      'runbook_run_timestamp_seconds{runbook="db-restore"} 1714564800',
      'runbook_run_rto_seconds{runbook="db-restore"} 20.08',
      'runbook_run_rto_objective_seconds{runbook="db-restore"} 300',
      'runbook_run_rto_met{runbook="db-restore"} 1',
      'runbook_rpo_seconds{runbook="db-restore"} 1.5',
      'runbook_rpo_objective_seconds{runbook="db-restore"} 60',
      'runbook_phase_duration_seconds{runbook="db-restore",phase="detect"} 2.025',
      'runbook_phase_duration_seconds{runbook="db-restore",phase="restore"} 18.03',
      'runbook_phase_budget_seconds{runbook="db-restore",phase="detect"} 60',
      'runbook_phase_budget_seconds{runbook="db-restore",phase="restore"} 120',
      'runbook_phase_within_budget{runbook="db-restore",phase="detect"} 1',
      'runbook_phase_within_budget{runbook="db-restore",phase="restore"} 1',
      'runbook_step_duration_seconds{runbook="db-restore",phase="detect",step="check-db"} 2',
      'runbook_step_duration_seconds{runbook="db-restore",phase="detect",step="notify"} 0.002',
      'runbook_step_duration_seconds{runbook="db-restore",phase="restore",step="stop-app"} 2',
      'runbook_step_duration_seconds{runbook="db-restore",phase="restore",step="fetch-backup"} 6',
      'runbook_step_duration_seconds{runbook="db-restore",phase="restore",step="restore-db"} 12',
    ]);
    expect(text.split('\n').slice(0, 4)).toEqual([
      '# runbook db-restore run r-ok (succeeded)',
      '# HELP runbook_run_duration_seconds Wall-clock duration of the run.',
      '# TYPE runbook_run_duration_seconds gauge',
      'runbook_run_duration_seconds{runbook="db-restore"} 20.08',
    ]);
    const status = text.split('\n').filter((l) => l.startsWith('runbook_step_status'));
    expect(status).toHaveLength(5 * 7);
    expect(status.filter((l) => l.endsWith(' 1'))).toHaveLength(5);
    expect(status.slice(0, 7)).toEqual([
      'runbook_step_status{runbook="db-restore",phase="detect",step="check-db",status="pending"} 0',
      'runbook_step_status{runbook="db-restore",phase="detect",step="check-db",status="running"} 0',
      'runbook_step_status{runbook="db-restore",phase="detect",step="check-db",status="succeeded"} 1',
      'runbook_step_status{runbook="db-restore",phase="detect",step="check-db",status="failed"} 0',
      'runbook_step_status{runbook="db-restore",phase="detect",step="check-db",status="timed_out"} 0',
      'runbook_step_status{runbook="db-restore",phase="detect",step="check-db",status="skipped"} 0',
      'runbook_step_status{runbook="db-restore",phase="detect",step="check-db",status="cancelled"} 0',
    ]);
  });

  it('shows a failed run: success 0, RTO missed, phase over budget, step status timed_out', () => {
    const text = prom('r-fail');
    checkExposition(text);
    const lines = text.split('\n');
    expect(lines).toContain('runbook_run_duration_seconds{runbook="app-migrate"} 35.01');
    expect(lines).toContain('runbook_run_status{runbook="app-migrate",status="rollback_failed"} 1');
    expect(lines).toContain('runbook_run_success{runbook="app-migrate"} 0');
    expect(lines).toContain('runbook_run_rto_met{runbook="app-migrate"} 0');
    expect(lines).toContain('runbook_phase_within_budget{runbook="app-migrate",phase="contain"} 0');
    expect(lines).toContain('runbook_step_status{runbook="app-migrate",phase="contain",step="migrate",status="timed_out"} 1');
    expect(lines).toContain('runbook_step_status{runbook="app-migrate",phase="verify",step="smoke",status="pending"} 1');
    // Not achieved and not measured: no sample, and no HELP/TYPE for an empty family.
    expect(text).not.toContain('runbook_run_rto_seconds');
    expect(text).not.toContain('runbook_rpo_seconds');
  });

  it('leaves out the duration of an incomplete run', () => {
    const text = prom('r-torn');
    checkExposition(text);
    expect(text).not.toContain('runbook_run_duration_seconds');
    expect(text).toContain('runbook_run_success{runbook="db-restore"} 0\n');
    expect(text).toContain('runbook_run_status{runbook="db-restore",status="incomplete"} 1\n');
    expect(text).toContain('runbook_step_status{runbook="db-restore",phase="detect",step="check-db",status="running"} 1\n');
  });

  it('escapes label values', () => {
    expect(escapeLabel('a\\b "c"\nd')).toBe('a\\\\b \\"c\\"\\nd');
  });
});
