import { describe, expect, it } from 'vitest';
import { createPlainPrinter } from '../../src/tui/plain.js';
import type { RunEvent } from '../../src/interpreter/events.js';
import { loadJournal } from './helpers.js';

process.env.TZ = 'UTC';

function print(events: RunEvent[], opts: Parameters<typeof createPlainPrinter>[1] = {}): string[] {
  const out: string[] = [];
  const printer = createPlainPrinter((l) => out.push(l), opts);
  events.forEach(printer);
  return out;
}

describe('createPlainPrinter', () => {
  it('prints a failed, rolled back run as timestamped lines', () => {
    expect(print(loadJournal())).toEqual([
      '12:00:00.000 ▶ run database-corruption — Database corruption — restore from the latest backup [P0] · run 20240501-120000-a1b2 · RTO 5m · alice@ops-1',
      '12:00:00.010 ▶ phase detect — Detection & assessment (budget 1m)',
      '12:00:00.020   ▶ check-db — Check the database answers (sql) attempt 1/1',
      '12:00:00.021   ▶ check-backups — Find the latest backup (s3) attempt 1/1',
      '12:00:00.300   │ [check-backups] latest: postgresql/full/2024-05-01T00-00.dump (412.0 MiB)',
      '12:00:00.350   │ [check-db] SELECT count(*) FROM trades → 1 row',
      '12:00:00.900   ✓ check-backups succeeded in 879ms',
      '12:00:01.500   ✓ check-db succeeded in 1.5s',
      '12:00:01.510   ▶ assess — Assess the damage (shell) attempt 1/1',
      '12:00:01.600   │ [assess] checking table trades',
      '12:00:01.600   │ [assess] checksum mismatch in page 4711 of trades',
      '12:00:01.700   ✎ assess: Stakeholders notified',
      '12:00:01.990   ✓ assess succeeded in 480ms',
      '12:00:02.000 ■ phase detect succeeded in 2.0s / budget 1m ✓ · RTO 2.0s / 5m (1%)',
      '12:00:02.010 ▶ phase restore — Restore from backup (budget 2m)',
      '12:00:02.015 ? stop-app: approved by alice — Stop trading-service in staging?',
      '12:00:02.020   ▶ stop-app — Stop the trading service (docker) attempt 1/1',
      '12:00:02.500   │ [stop-app] stopping trading-service (grace 10s)',
      '12:00:04.000   ✓ stop-app succeeded in 2.0s',
      '12:00:04.010   ▶ download — Download the backup (s3) attempt 1/2',
      '12:00:08.100   ✓ download succeeded in 4.1s',
      '12:00:08.110   ▶ restore-db — Restore the database (shell) attempt 1/3',
      '12:00:08.500   │ [restore-db] pg_restore: connecting to database for restore',
      '12:00:08.500   │ [restore-db] pg_restore: creating TABLE "public.trades"',
      '12:00:10.000   │ [restore-db] pg_restore: error: could not execute query: ERROR:  relation "trades" already exists',
      '12:00:12.000   ▶ restore-db — Restore the database (shell) attempt 2/3',
      '12:00:12.500   │ [restore-db] pg_restore: connecting to database for restore',
      '12:00:12.500   │ [restore-db] pg_restore: creating TABLE "public.trades"',
      '12:00:14.000   │ [restore-db] pg_restore: error: could not execute query: ERROR:  relation "trades" already exists',
      '12:00:16.000   ▶ restore-db — Restore the database (shell) attempt 3/3',
      '12:00:16.500   │ [restore-db] pg_restore: connecting to database for restore',
      '12:00:16.500   │ [restore-db] pg_restore: creating TABLE "public.trades"',
      '12:00:18.000   │ [restore-db] pg_restore: error: could not execute query: ERROR:  relation "trades" already exists',
      '12:00:18.010   ✗ restore-db failed in 9.9s after 3/3 attempts: exit code 1: pg_restore: error: could not execute query: ERROR:  relation "trades" already exists (runbooks/database-corruption.yaml:64:7)',
      '12:00:18.020 ■ phase restore failed in 16.0s / budget 2m ✓ · RTO 18.0s / 5m (6%)',
      '12:00:18.030 ↺ rolling back',
      '12:00:18.030   ↺ rollback restore-db',
      '12:00:18.930   ✓ rollback restore-db succeeded in 900ms',
      '12:00:18.940   ↺ rollback stop-app',
      '12:00:20.440   ✓ rollback stop-app succeeded in 1.5s',
      '12:00:20.500 ↺ run rolled back in 20.5s / RTO 5m met — restore-db failed: exit code 1',
    ]);
  });

  const base = { run: 'r1' };
  const started: RunEvent = {
    ...base,
    ts: '2024-05-01T12:00:00.000Z',
    type: 'run.started',
    runbook: 'drill',
    file: 'drill.yaml',
    params: {},
    objectives: { rto_ms: 60_000, on_exceeded: 'warn' },
    dry_run: true,
    outline: [{ id: 'only', budget_ms: 10_000, steps: [{ id: 'slow', type: 'shell', needs: [], has_rollback: false, where: 'drill.yaml:7:7' }] }],
    pid: 1,
    host: 'h',
    user: 'bob',
  };

  it('shows budgets overrun, timeouts with where from the outline, warnings and a missed RTO', () => {
    const lines = print([
      started,
      { ...base, ts: '2024-05-01T12:00:00.000Z', type: 'phase.started', phase: 'only', budget_ms: 10_000 },
      { ...base, ts: '2024-05-01T12:00:00.000Z', type: 'step.started', step: 'slow', phase: 'only', attempt: 1 },
      { ...base, ts: '2024-05-01T12:00:12.000Z', type: 'warning', code: 'BUDGET_EXCEEDED', message: "phase 'only' passed its budget of 10s", phase: 'only' },
      { ...base, ts: '2024-05-01T12:01:05.000Z', type: 'step.finished', step: 'slow', phase: 'only', status: 'timed_out', attempts: 1, duration_ms: 65_000, outputs: {}, error: 'timed out after 1m 05s' },
      { ...base, ts: '2024-05-01T12:01:05.000Z', type: 'phase.finished', phase: 'only', status: 'failed', duration_ms: 65_000, budget_ms: 10_000, within_budget: false },
      { ...base, ts: '2024-05-01T12:01:05.100Z', type: 'run.finished', status: 'failed', duration_ms: 65_100, rto_ms: 60_000, rto_met: false, measures: {} },
    ]);
    expect(lines).toEqual([
      '12:00:00.000 ▶ run drill · run r1 · RTO 1m · bob@h · DRY RUN',
      '12:00:00.000 ▶ phase only (budget 10s)',
      '12:00:00.000   ▶ slow attempt 1',
      "12:00:12.000 ⚠ BUDGET_EXCEEDED: phase 'only' passed its budget of 10s",
      '12:01:05.000   ✗ slow timed out in 1m 05s: timed out after 1m 05s (drill.yaml:7:7)',
      '12:01:05.000 ■ phase only failed in 1m 05s / budget 10s over by 55.0s · RTO 1m 05s / 1m (108%)',
      '12:01:05.100 ✗ run failed in 1m 05s / RTO 1m missed',
    ]);
  });

  it('colours only when asked', () => {
    const events: RunEvent[] = [
      started,
      { ...base, ts: '2024-05-01T12:00:01.000Z', type: 'step.finished', step: 'slow', phase: 'only', status: 'failed', attempts: 1, duration_ms: 1000, outputs: {}, error: 'exit code 2' },
    ];
    const plain = print(events);
    expect(plain.join('\n')).not.toContain('\u001b[');
    const coloured = print(events, { color: true });
    expect(coloured[1]).toBe('\u001b[2m12:00:01.000\u001b[0m   \u001b[31m✗\u001b[0m slow \u001b[31mfailed\u001b[0m in 1.0s: \u001b[31mexit code 2\u001b[0m (drill.yaml:7:7)');
  });

  it('prints progress, the outline and resumes in verbose mode; stamps events without a valid ts with now()', () => {
    const lines = print(
      [
        started,
        { ...base, ts: '2024-05-01T12:00:03.000Z', type: 'step.progress', step: 'slow', bytes: 1536, total: 3072, rate: 512 },
        { ...base, ts: 'garbage', type: 'run.resumed', pid: 77, inflight: [{ step: 'slow', decision: 'rerun' }] },
      ],
      { verbose: true, now: () => new Date('2024-05-01T13:00:00.000Z') },
    );
    expect(lines.slice(1)).toEqual([
      '12:00:00.000   phase only (budget 10s): slow',
      '12:00:03.000   │ [slow] █████░░░░░ 1.50/3.00 KiB · 512 B/s',
      '13:00:00.000 ↻ resumed by pid 77 · in flight: slow → rerun',
    ]);
    // without verbose, progress is left to the TUI
    expect(print([started, { ...base, ts: '2024-05-01T12:00:03.000Z', type: 'step.progress', step: 'slow', bytes: 1 }])).toHaveLength(1);
  });

  it('splits output chunks into lines and marks nested steps deeper', () => {
    const lines = print([
      started,
      { ...base, ts: '2024-05-01T12:00:01.000Z', type: 'step.started', step: 'sub.inner', phase: 'sub/main', attempt: 1, max_attempts: 2, depth: 1, step_type: 'shell' },
      { ...base, ts: '2024-05-01T12:00:01.500Z', type: 'step.output', step: 'sub.inner', stream: 'stdout', text: 'one\r\ntwo\n' },
    ]);
    expect(lines.slice(1)).toEqual([
      '12:00:01.000     ▶ sub.inner (shell) attempt 1/2',
      '12:00:01.500   │ [sub.inner] one',
      '12:00:01.500   │ [sub.inner] two',
    ]);
  });
});
