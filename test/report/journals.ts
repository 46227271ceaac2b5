/**
 * Real journals on disk for the report tests: each builder writes `<stateDir>/runs/<id>/journal.jsonl`
 * line by line, as the interpreter does, with timestamps at known offsets from the run's start.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

type Ev = Record<string, unknown> & { type: string };

export class Journal {
  readonly lines: string[] = [];
  constructor(
    readonly run: string,
    readonly t0: string,
  ) {}
  /** Append an event `ms` after the run's start. */
  at(ms: number, ev: Ev): this {
    const ts = new Date(Date.parse(this.t0) + ms).toISOString();
    this.lines.push(JSON.stringify({ ts, run: this.run, ...ev }));
    return this;
  }
  write(stateDir: string, tornTail?: string): string {
    const dir = join(stateDir, 'runs', this.run);
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'journal.jsonl');
    writeFileSync(file, this.lines.map((l) => `${l}\n`).join('') + (tornTail ?? ''));
    return file;
  }
}

export function tempStateDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'runbook-report-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

const host = { pid: 4242, host: 'dr-host', user: 'alice' };

const dbOutline = [
  {
    id: 'detect',
    title: 'Detection & assessment',
    budget_ms: 60_000,
    steps: [
      { id: 'check-db', title: 'Check the database', type: 'sql', needs: [], has_rollback: false },
      { id: 'notify', type: 'log', needs: ['check-db'], has_rollback: false },
    ],
  },
  {
    id: 'restore',
    title: 'Recovery',
    budget_ms: 120_000,
    steps: [
      { id: 'stop-app', title: 'Stop the trading service', type: 'docker', needs: [], has_rollback: true },
      { id: 'fetch-backup', title: 'Fetch the latest backup', type: 's3', needs: [], has_rollback: false },
      { id: 'restore-db', title: 'Restore the database', type: 'shell', needs: ['stop-app', 'fetch-backup'], has_rollback: false },
    ],
  },
];

function dbStarted(dry_run: boolean): Ev {
  return {
    type: 'run.started',
    runbook: 'db-restore',
    title: 'Database corruption — restore from backup',
    severity: 'P0',
    file: 'runbooks/db-restore.yaml',
    params: { target: 'staging', db_password: '***' },
    objectives: { rto_ms: 300_000, rpo_ms: 60_000, on_exceeded: 'warn' },
    dry_run,
    outline: dbOutline,
    ...host,
  };
}

/** Succeeded: two phases, a retried step, a log note, two parallel steps, RPO measured. */
export function succeededRun(id = 'r-ok', t0 = '2024-05-01T12:00:00.000Z'): Journal {
  return new Journal(id, t0)
    .at(0, dbStarted(false))
    .at(5, { type: 'phase.started', phase: 'detect', title: 'Detection & assessment', budget_ms: 60_000 })
    .at(10, { type: 'step.started', step: 'check-db', phase: 'detect', attempt: 1, max_attempts: 2, step_type: 'sql', title: 'Check the database' })
    .at(1510, { type: 'step.started', step: 'check-db', phase: 'detect', attempt: 2, max_attempts: 2, step_type: 'sql', title: 'Check the database' })
    .at(2010, { type: 'step.finished', step: 'check-db', phase: 'detect', status: 'succeeded', attempts: 2, duration_ms: 2000, outputs: { corrupt: true } })
    .at(2020, { type: 'step.started', step: 'notify', phase: 'detect', attempt: 1, step_type: 'log' })
    .at(2021, { type: 'log', step: 'notify', text: 'Stakeholders notified | #ops' })
    .at(2022, { type: 'step.finished', step: 'notify', phase: 'detect', status: 'succeeded', attempts: 1, duration_ms: 2, outputs: {} })
    .at(2030, { type: 'phase.finished', phase: 'detect', status: 'succeeded', duration_ms: 2025, budget_ms: 60_000, within_budget: true })
    .at(2040, { type: 'phase.started', phase: 'restore', title: 'Recovery', budget_ms: 120_000 })
    .at(2050, { type: 'step.started', step: 'stop-app', phase: 'restore', attempt: 1, step_type: 'docker', title: 'Stop the trading service' })
    .at(2051, { type: 'step.started', step: 'fetch-backup', phase: 'restore', attempt: 1, step_type: 's3', title: 'Fetch the latest backup' })
    .at(3000, { type: 'step.output', step: 'stop-app', stream: 'info', text: 'stopping trading-service' })
    .at(3500, { type: 'step.progress', step: 'fetch-backup', bytes: 1024, total: 4096 })
    .at(4050, { type: 'step.finished', step: 'stop-app', phase: 'restore', status: 'succeeded', attempts: 1, duration_ms: 2000, outputs: {} })
    .at(8051, { type: 'step.finished', step: 'fetch-backup', phase: 'restore', status: 'succeeded', attempts: 1, duration_ms: 6000, outputs: { key: 'full/2024-05-01.dump' } })
    .at(8060, { type: 'step.started', step: 'restore-db', phase: 'restore', attempt: 1, step_type: 'shell', title: 'Restore the database' })
    .at(20_060, { type: 'step.finished', step: 'restore-db', phase: 'restore', status: 'succeeded', attempts: 1, duration_ms: 12_000, outputs: { lag_ms: 1500 } })
    .at(20_070, { type: 'phase.finished', phase: 'restore', status: 'succeeded', duration_ms: 18_030, budget_ms: 120_000, within_budget: true })
    .at(20_080, { type: 'run.finished', status: 'succeeded', duration_ms: 20_080, rto_ms: 300_000, rto_met: true, measures: { rpo: 1500 } });
}

/** Failed: a timed-out step, an over-budget warning, three rollbacks (one fails), a phase never reached. */
export function failedRun(id = 'r-fail', t0 = '2024-05-02T09:00:00.000Z'): Journal {
  return new Journal(id, t0)
    .at(0, {
      type: 'run.started',
      runbook: 'app-migrate',
      title: 'Schema migration',
      severity: 'P1',
      file: 'runbooks/app-migrate.yaml',
      params: {},
      objectives: { rto_ms: 60_000, on_exceeded: 'warn' },
      dry_run: false,
      outline: [
        {
          id: 'contain',
          budget_ms: 10_000,
          steps: [
            { id: 'stop-app', type: 'docker', needs: [], has_rollback: true },
            { id: 'maintenance', title: 'Maintenance <on>', type: 'http', needs: ['stop-app'], has_rollback: true },
            { id: 'migrate', type: 'sql', needs: ['maintenance'], has_rollback: true },
          ],
        },
        { id: 'verify', steps: [{ id: 'smoke', type: 'http', needs: [], has_rollback: false }] },
      ],
      ...host,
    })
    .at(1, { type: 'phase.started', phase: 'contain', budget_ms: 10_000 })
    .at(2, { type: 'step.started', step: 'stop-app', phase: 'contain', attempt: 1, step_type: 'docker' })
    .at(1002, { type: 'step.finished', step: 'stop-app', phase: 'contain', status: 'succeeded', attempts: 1, duration_ms: 1000, outputs: {} })
    .at(1003, { type: 'step.started', step: 'maintenance', phase: 'contain', attempt: 1, step_type: 'http', title: 'Maintenance <on>' })
    .at(1503, { type: 'step.finished', step: 'maintenance', phase: 'contain', status: 'succeeded', attempts: 1, duration_ms: 500, outputs: {} })
    .at(1504, { type: 'step.started', step: 'migrate', phase: 'contain', attempt: 1, step_type: 'sql' })
    .at(10_001, { type: 'warning', code: 'PHASE_BUDGET', message: "phase 'contain' passed its budget of 10s", phase: 'contain' })
    .at(31_504, { type: 'step.finished', step: 'migrate', phase: 'contain', status: 'timed_out', attempts: 1, duration_ms: 30_000, outputs: {}, error: 'timed out after 30s\nALTER TABLE "trades" & <locks>' })
    .at(31_505, { type: 'rollback.started', step: 'migrate' })
    .at(32_505, { type: 'rollback.finished', step: 'migrate', status: 'succeeded', duration_ms: 1000 })
    .at(32_506, { type: 'rollback.started', step: 'maintenance' })
    .at(33_006, { type: 'rollback.finished', step: 'maintenance', status: 'failed', error: 'HTTP 500 | upstream down', duration_ms: 500 })
    .at(33_007, { type: 'rollback.started', step: 'stop-app' })
    .at(35_007, { type: 'rollback.finished', step: 'stop-app', status: 'succeeded', duration_ms: 2000 })
    .at(35_008, { type: 'phase.finished', phase: 'contain', status: 'failed', duration_ms: 35_007, budget_ms: 10_000, within_budget: false })
    .at(35_010, { type: 'run.finished', status: 'rollback_failed', duration_ms: 35_010, rto_met: false, measures: {}, error: "step 'migrate' timed_out" });
}

/** An approval gate answered by an operator, a log note, and a step skipped by its guard. */
export function approvalRun(id = 'r-approve', t0 = '2024-05-03T15:30:00.000Z'): Journal {
  return new Journal(id, t0)
    .at(0, {
      type: 'run.started',
      runbook: 'config-rollback',
      file: 'runbooks/config-rollback.yaml',
      params: { version: 'v1.2.3', token: '***' },
      objectives: { on_exceeded: 'warn' },
      dry_run: false,
      outline: [
        {
          id: 'main',
          steps: [
            { id: 'gate', type: 'approve', needs: [], has_rollback: false },
            { id: 'notify', type: 'log', needs: ['gate'], has_rollback: false },
            { id: 'purge-cache', type: 'http', needs: ['notify'], has_rollback: false },
            { id: 'apply', title: 'Apply config v1.2.3', type: 'shell', needs: ['purge-cache'], has_rollback: false },
          ],
        },
      ],
      ...host,
      user: 'bob',
    })
    .at(3, { type: 'phase.started', phase: 'main' })
    .at(4, { type: 'step.started', step: 'gate', phase: 'main', attempt: 1, step_type: 'approve' })
    .at(65_004, { type: 'approval', step: 'gate', decision: 'approved', by: 'carol', message: 'go ahead' })
    .at(65_005, { type: 'step.finished', step: 'gate', phase: 'main', status: 'succeeded', attempts: 1, duration_ms: 65_001, outputs: {} })
    .at(65_006, { type: 'step.started', step: 'notify', phase: 'main', attempt: 1, step_type: 'log' })
    .at(65_007, { type: 'log', step: 'notify', text: 'Stakeholders notified' })
    .at(65_008, { type: 'step.finished', step: 'notify', phase: 'main', status: 'succeeded', attempts: 1, duration_ms: 2, outputs: {} })
    .at(65_009, { type: 'step.finished', step: 'purge-cache', phase: 'main', status: 'skipped', attempts: 0, duration_ms: 0, outputs: {} })
    .at(65_010, { type: 'step.started', step: 'apply', phase: 'main', attempt: 1, step_type: 'shell', title: 'Apply config v1.2.3' })
    .at(66_510, { type: 'step.finished', step: 'apply', phase: 'main', status: 'succeeded', attempts: 1, duration_ms: 1500, outputs: {} })
    .at(66_511, { type: 'phase.finished', phase: 'main', status: 'succeeded', duration_ms: 66_508, within_budget: null })
    .at(66_512, { type: 'run.finished', status: 'succeeded', duration_ms: 66_512, rto_met: null, measures: {} });
}

/** A run whose process died mid-write: the last line is torn. */
export function tornRun(id = 'r-torn', t0 = '2024-05-04T08:00:00.000Z'): { journal: Journal; tail: string } {
  const journal = new Journal(id, t0)
    .at(0, dbStarted(false))
    .at(5, { type: 'phase.started', phase: 'detect', title: 'Detection & assessment', budget_ms: 60_000 })
    .at(10, { type: 'step.started', step: 'check-db', phase: 'detect', attempt: 1, max_attempts: 2, step_type: 'sql', title: 'Check the database' });
  return { journal, tail: '{"ts":"2024-05-04T08:00:01.000Z","run":"r-torn","type":"step.fin' };
}

/** A dry run of the same runbook: every step "succeeds" at once. */
export function dryRun(id = 'r-dry', t0 = '2024-05-05T10:00:00.000Z'): Journal {
  const j = new Journal(id, t0).at(0, dbStarted(true));
  let t = 1;
  for (const phase of dbOutline) {
    j.at(t++, { type: 'phase.started', phase: phase.id, budget_ms: phase.budget_ms });
    for (const s of phase.steps) {
      j.at(t++, { type: 'step.started', step: s.id, phase: phase.id, attempt: 1, step_type: s.type });
      j.at(t++, { type: 'step.finished', step: s.id, phase: phase.id, status: 'succeeded', attempts: 1, duration_ms: 1, outputs: {} });
    }
    j.at(t++, { type: 'phase.finished', phase: phase.id, status: 'succeeded', duration_ms: 3, budget_ms: phase.budget_ms, within_budget: true });
  }
  return j.at(t, { type: 'run.finished', status: 'succeeded', duration_ms: t, rto_ms: 300_000, rto_met: true, measures: {} });
}

/** The five fixture runs most report tests read: succeeded, failed, with an approval, torn, dry. */
export function writeFixtureRuns(dir: string): void {
  succeededRun().write(dir);
  failedRun().write(dir);
  approvalRun().write(dir);
  const torn = tornRun();
  torn.journal.write(dir, torn.tail);
  dryRun().write(dir);
}
