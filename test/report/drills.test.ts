/**
 * `runbook drills` over a history made by real CLI runs (./kpi-history.ts): `rec` was drilled twice
 * (passed, then failed), `rt` ran only as an incident, never as a drill. And drills.yaml itself:
 * the repository's schedule is valid and names shipped runbooks; a bad one is refused at file:line:col.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addPeriod, loadDrills } from '../../src/report/drills.js';
import { REPO, runCli } from '../helpers/cli.js';
import { makeHistory, type MadeRun } from './kpi-history.js';

let dir: string;
let stateDir: string;
let runs: MadeRun[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'runbook-drills-'));
  ({ stateDir, runs } = await makeHistory(dir, [
    { runbook: 'rec', drill: true },
    { runbook: 'rec', drill: true, fail: true },
    { runbook: 'rec' },
    { runbook: 'rt' },
  ]));
  writeFileSync(join(dir, 'drills.yaml'), 'drills:\n  - { runbook: rec, every: weekly }\n  - { runbook: rt, every: monthly }\n');
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('runbook drills', () => {
  it('--json: last drill, result and RTO, next due from the last passing drill, overdue', async () => {
    const res = await runCli(['drills', '--json', '--state-dir', stateDir], { cwd: dir });
    expect(res.code, res.stderr).toBe(0);
    const { drills } = JSON.parse(res.stdout);
    const [passed, failed] = runs;
    expect(passed.started.drill).toBe(true);
    expect(runs[2].started.drill).toBeUndefined();
    expect(drills).toEqual([
      {
        runbook: 'rec',
        every: 'weekly',
        // The newest drill failed: it is the last run, but the week counts from the one that passed.
        last: {
          run: failed.started.run,
          started_at: failed.started.ts,
          status: 'failed',
          duration_ms: failed.finished.duration_ms,
          // A failed recovery achieved no recovery time: it missed the RTO.
          rto: { objective_ms: 1000, met: false },
        },
        last_success_at: passed.started.ts,
        next_due: new Date(Date.parse(passed.started.ts) + 7 * 86_400_000).toISOString(),
        overdue: false,
        drills_run: 2,
      },
      { runbook: 'rt', every: 'monthly', last: null, last_success_at: null, next_due: null, overdue: true, reason: 'never drilled', drills_run: 0 },
    ]);
  });

  it('text: one row a drill and what is overdue', async () => {
    const res = await runCli(['drills', '--state-dir', stateDir], { cwd: dir });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/^rec +weekly +\S+ \S+ +failed +missed \(\S+ \/ 1s\) +\S+ \S+ +ok$/m);
    expect(res.stdout).toMatch(/^rt +monthly +never +— +— +now +OVERDUE \(never drilled\)$/m);
    expect(res.stdout).toContain('1 of 2 drills overdue: rt');
  });

  it('history tells drills from incidents', async () => {
    const res = await runCli(['history', '--state-dir', stateDir], { cwd: dir });
    expect(res.code, res.stderr).toBe(0);
    const line = (run: MadeRun) => res.stdout.split('\n').find((l) => l.startsWith(run.started.run)) ?? '';
    expect(line(runs[0])).toMatch(/ succeeded \(drill\) /);
    expect(line(runs[1])).toMatch(/ failed \(drill\) /);
    expect(line(runs[2])).toMatch(/ succeeded {2}/);
    const json = JSON.parse((await runCli(['history', '--json', '--state-dir', stateDir], { cwd: dir })).stdout) as { run: string; drill: boolean }[];
    expect(Object.fromEntries(json.map((r) => [r.run, r.drill]))).toEqual(Object.fromEntries(runs.map((r) => [r.started.run, !!r.drill])));
  });

  it('stats includes the drill metrics from drills.yaml', async () => {
    const res = await runCli(['stats', '--format', 'prometheus', '--state-dir', stateDir], { cwd: dir });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain('runbook_drill_overdue{runbook="rec",every="weekly"} 0\n');
    expect(res.stdout).toContain('runbook_drill_overdue{runbook="rt",every="monthly"} 1\n');
    expect(res.stdout).toContain('runbook_drill_last_success{runbook="rec",every="weekly"} 0\n');
    expect(res.stdout).toContain(`runbook_drill_next_due_timestamp_seconds{runbook="rec",every="weekly"} ${(Date.parse(runs[0].started.ts) + 7 * 86_400_000) / 1000}\n`);
  });

  it("the repository's drills.yaml holds the guide's schedule of shipped runbooks", () => {
    const drills = loadDrills(join(REPO, 'drills.yaml'));
    const by = (every: string) => drills.filter((d) => d.every === every).map((d) => d.runbook);
    expect(by('weekly')).toEqual(['external-service-outage', 'configuration-error']);
    expect(by('monthly')).toEqual(['backup-verification', 'database-corruption', 'deployment-failure', 'version-rollback']);
    expect(by('quarterly')).toEqual(['complete-system-failure']);
    for (const d of drills) expect(existsSync(join(REPO, 'runbooks', `${d.runbook}.yaml`)), d.runbook).toBe(true);
  });

  it('a bad drills.yaml is refused with every error at file:line:col, nothing else printed', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'drills:\n  - runbook: rec\n    every: fortnightly\n  - { runbook: Bad, every: weekly, owner: me }\n');
    const res = await runCli(['drills', '--file', file, '--state-dir', stateDir], { cwd: dir });
    expect(res.code).toBe(2);
    expect(res.stdout).toBe('');
    expect(res.stderr).toContain(`${file}:3:12: \`every\` must be one of weekly, monthly, quarterly, yearly [DRILLS]`);
    expect(res.stderr).toContain(`${file}:4:16: \`runbook\` must be a runbook id (e.g. database-corruption) [DRILLS]`);
    expect(res.stderr).toContain(`${file}:4:36: unknown key 'owner' (expected runbook, every, title) [DRILLS]`);
    expect(res.stderr).not.toMatch(/\bat .+\.js:\d+/);
    const missing = await runCli(['drills', '--state-dir', stateDir], { cwd: stateDir });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(`runbook: no drills.yaml in ${stateDir} (give --file FILE)\n`);
  });

  it('periods are calendar periods in UTC, the day clamped to the month', () => {
    const at = (iso: string) => Date.parse(iso);
    expect(new Date(addPeriod(at('2026-01-31T10:00:00Z'), 'monthly')).toISOString()).toBe('2026-02-28T10:00:00.000Z');
    expect(new Date(addPeriod(at('2028-01-31T10:00:00Z'), 'monthly')).toISOString()).toBe('2028-02-29T10:00:00.000Z');
    expect(new Date(addPeriod(at('2026-11-30T00:00:00Z'), 'quarterly')).toISOString()).toBe('2027-02-28T00:00:00.000Z');
    expect(new Date(addPeriod(at('2026-12-01T00:00:00Z'), 'yearly')).toISOString()).toBe('2027-12-01T00:00:00.000Z');
    expect(new Date(addPeriod(at('2026-12-01T00:00:00Z'), 'weekly')).toISOString()).toBe('2026-12-08T00:00:00.000Z');
  });
});
