import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunbookError } from '../../src/dsl/errors.js';
import { listRuns, readRunEvents, resolveRunId } from '../../src/report/read.js';
import { succeededRun, tempStateDir, writeFixtureRuns } from './journals.js';

let state: ReturnType<typeof tempStateDir>;

beforeAll(() => {
  state = tempStateDir();
  writeFixtureRuns(state.dir);
});
afterAll(() => state.cleanup());

describe('readRunEvents', () => {
  it('reads every line in order', () => {
    const events = readRunEvents(state.dir, 'r-ok');
    expect(events).toHaveLength(20);
    expect(events[0]).toMatchObject({ type: 'run.started', run: 'r-ok', runbook: 'db-restore', ts: '2024-05-01T12:00:00.000Z' });
    expect(events[19]).toMatchObject({ type: 'run.finished', status: 'succeeded', duration_ms: 20_080 });
  });

  it('drops a torn last line', () => {
    const events = readRunEvents(state.dir, 'r-torn');
    expect(events.map((e) => e.type)).toEqual(['run.started', 'phase.started', 'step.started']);
  });

  it('names the missing journal file', () => {
    const file = join(state.dir, 'runs', 'nope', 'journal.jsonl');
    expect(() => readRunEvents(state.dir, 'nope')).toThrow(`no journal for run 'nope': ${file} does not exist`);
  });

  it('refuses a bad line that is not the last, naming file and line', () => {
    const j = succeededRun('r-corrupt');
    const file = j.write(state.dir);
    const lines = j.lines.map((l) => `${l}\n`);
    lines[2] = '{"oops\n';
    writeFileSync(file, lines.join(''));
    let err: unknown;
    try {
      readRunEvents(state.dir, 'r-corrupt');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RunbookError);
    expect((err as RunbookError).diagnostic).toEqual({ code: 'JOURNAL_CORRUPT', message: 'line 3 is not a JSON event', file, line: 3, col: 1 });
  });
});

describe('listRuns', () => {
  it('lists newest first with statuses', () => {
    const runs = listRuns(state.dir).filter((r) => r.run !== 'r-corrupt');
    expect(runs.map((r) => [r.run, r.runbook, r.status, r.dry_run])).toEqual([
      ['r-dry', 'db-restore', 'succeeded', true],
      ['r-torn', 'db-restore', 'incomplete', false],
      ['r-approve', 'config-rollback', 'succeeded', false],
      ['r-fail', 'app-migrate', 'rollback_failed', false],
      ['r-ok', 'db-restore', 'succeeded', false],
    ]);
    expect(runs[1]).toEqual({
      run: 'r-torn',
      runbook: 'db-restore',
      title: 'Database corruption — restore from backup',
      severity: 'P0',
      started_at: '2024-05-04T08:00:00.000Z',
      finished_at: undefined,
      duration_ms: undefined,
      status: 'incomplete',
      rto_ms: undefined,
      rto_met: null,
      dry_run: false,
      drill: false,
      file: 'runbooks/db-restore.yaml',
    });
    expect(runs[3]).toMatchObject({ duration_ms: 35_010, rto_met: false, finished_at: '2024-05-02T09:00:35.010Z' });
  });

  it('filters by runbook', () => {
    expect(listRuns(state.dir, 'db-restore').map((r) => r.run).filter((r) => r !== 'r-corrupt')).toEqual(['r-dry', 'r-torn', 'r-ok']);
    expect(listRuns(state.dir, 'unknown-book')).toEqual([]);
  });

  it('is empty for a state dir without runs', () => {
    const empty = tempStateDir();
    try {
      expect(listRuns(empty.dir)).toEqual([]);
      expect(() => resolveRunId(empty.dir, 'latest')).toThrow(`no runs in ${join(empty.dir, 'runs')}`);
    } finally {
      empty.cleanup();
    }
  });
});

describe('resolveRunId', () => {
  it('resolves latest, exact ids and unique prefixes', () => {
    expect(resolveRunId(state.dir, 'latest')).toBe('r-dry');
    expect(resolveRunId(state.dir, 'r-fail')).toBe('r-fail');
    expect(resolveRunId(state.dir, 'r-app')).toBe('r-approve');
  });

  it('lists recent runs for an unknown id', () => {
    expect(() => resolveRunId(state.dir, 'r-zzz')).toThrow(
      "unknown run 'r-zzz'; recent runs: r-dry (db-restore, succeeded), r-torn (db-restore, incomplete), r-approve (config-rollback, succeeded), r-fail (app-migrate, rollback_failed), r-ok (db-restore, succeeded)",
    );
  });

  it('never resolves a path outside the runs folder', () => {
    expect(() => resolveRunId(state.dir, '../runs/r-ok')).toThrow("unknown run '../runs/r-ok'");
  });

  it('refuses an ambiguous prefix', () => {
    expect(() => resolveRunId(state.dir, 'r-')).toThrow(/^'r-' matches 6 runs; recent runs: r-dry/);
  });
});
