/**
 * `runbook stats` over a history made by real CLI runs (./kpi-history.ts): 4 backups (1 failed),
 * 2 restore tests (1 failed), 4 recoveries (2 drills, 1 failed, 1 over its RTO and RPO), 1 dry run
 * that must not count. Every figure is worked out here from the runs' own journal events.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, spawnCli } from '../helpers/cli.js';
import { makeHistory, type MadeRun } from './kpi-history.js';

const PROMTOOL = '/usr/bin/promtool';
let dir: string;
let stateDir: string;
let runs: MadeRun[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'runbook-stats-'));
  ({ stateDir, runs } = await makeHistory(dir));
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const t = (r: MadeRun) => Date.parse(r.started.ts);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
/** Least squares by hand: the fitted change across the span of the points. */
function fittedChange(points: [number, number][]): number {
  const mx = mean(points.map((p) => p[0]));
  const my = mean(points.map((p) => p[1]));
  const slope = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0) / points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return slope * (Math.max(...points.map((p) => p[0])) - Math.min(...points.map((p) => p[0])));
}
const direction = (change: number, better: 'lower' | 'higher') =>
  Math.abs(change) <= 0.1 ? 'stable' : (better === 'higher' ? change : -change) > 0 ? 'improving' : 'degrading';

async function stats(args: string[] = []) {
  // cwd without a drills.yaml: the figures alone.
  const res = await runCli(['stats', '--state-dir', stateDir, ...args], { cwd: dir });
  expect(res.code, res.stderr).toBe(0);
  return res;
}

describe('runbook stats: the KPIs from real history', () => {
  it('--json: rates, durations, MTTR, RTO and RPO, worked out by hand', async () => {
    const s = JSON.parse((await stats(['--json'])).stdout);
    const real = runs.filter((r) => !r.dryRun);
    const of = (rb: string) => real.filter((r) => r.runbook === rb);
    const ok = (rs: MadeRun[]) => rs.filter((r) => r.finished.status === 'succeeded');
    expect(s.runs).toEqual({ total: 10, drills: 2, incidents: 8, incomplete: 0 });

    // Backups: 3 of 4 succeeded; the duration of the 3 successes against the 30s objective.
    expect(s.backup).toMatchObject({ runs: 4, succeeded: 3, failed: 1, rate: 0.75 });
    const bkDurations = ok(of('bk')).map((r) => r.finished.duration_ms);
    expect(s.backup.duration).toMatchObject({ runs: 3, mean_ms: mean(bkDurations), max_ms: Math.max(...bkDurations), objective_ms: 30_000 });
    const bkPoints = of('bk').map((r): [number, number] => [t(r), r.finished.status === 'succeeded' ? 1 : 0]);
    expect(s.backup.trend.change).toBeCloseTo(fittedChange(bkPoints), 9);
    expect(s.backup.trend).toMatchObject({ direction: direction(fittedChange(bkPoints), 'higher'), samples: 4, threshold: 0.1, better: 'higher' });

    // Restore tests: 1 of 2, too few for a trend.
    expect(s.restore_test).toMatchObject({ runs: 2, succeeded: 1, failed: 1, rate: 0.5, trend: { direction: 'unknown', samples: 2 } });

    // Recoveries: 3 of 4 (the failed one was a drill); the dry run is not counted.
    expect(s.recovery).toMatchObject({ runs: 4, succeeded: 3, failed: 1, rate: 0.75, drills: 2, incidents: 2 });
    const recOk = ok(of('rec'));
    expect(s.mttr).toMatchObject({ runs: 3, mean_ms: mean(recOk.map((r) => r.finished.duration_ms)) });
    const mttrChange = fittedChange(recOk.map((r) => [t(r), r.finished.duration_ms])) / mean(recOk.map((r) => r.finished.duration_ms));
    expect(s.mttr.trend.change).toBeCloseTo(mttrChange, 9);
    // 0s, 0.2s then 1.2s of work: recovery takes longer and longer.
    expect(s.mttr.trend.direction).toBe('degrading');

    // RTO 1s: met by runs 7 and 9; missed by the failed run 8 and by run 10 (1.2s of sleep).
    expect(of('rec').map((r) => r.finished.rto_met)).toEqual([true, false, true, false]);
    expect(s.rto).toMatchObject({ runs: 4, met: 2, met_rate: 0.5, objective_ms: 1000, mean_ms: mean(recOk.map((r) => r.finished.duration_ms)), last_ms: recOk[2].finished.duration_ms });
    expect(s.rto.trend.direction).toBe('degrading');
    expect(s.rto.by_runbook).toEqual([{ runbook: 'rec', runs: 4, met: 2, mean_ms: s.rto.mean_ms, last_ms: s.rto.last_ms, objective_ms: 1000 }]);

    // RPO 1m: 1s, 5s, 2s met; 90s missed.
    expect(s.rpo).toMatchObject({ runs: 4, met: 3, met_rate: 0.75, mean_ms: (1000 + 5000 + 2000 + 90_000) / 4, last_ms: 90_000, objective_ms: 60_000 });
    const rpoPoints = of('rec').map((r): [number, number] => [t(r), (r.rpo ?? 0) / 60_000]);
    expect(s.rpo.trend.change).toBeCloseTo(fittedChange(rpoPoints) / mean(rpoPoints.map((p) => p[1])), 9);
    expect(s.rpo.trend.direction).toBe('degrading');
  });

  it('text: the guide KPIs with targets and trends', async () => {
    const { stdout } = await stats();
    expect(stdout).toContain('10 real runs (2 drills, 8 incidents)');
    expect(stdout).toMatch(/^Backup success rate +75% \(3\/4\) +100% /m);
    expect(stdout).toMatch(/^Restore test success rate +50% \(1\/2\) +100% +unknown \(2 runs; a trend needs 3\)$/m);
    expect(stdout).toMatch(/^Recovery success rate +75% \(3\/4\) +100% /m);
    expect(stdout).toMatch(/^RTO achieved +met 2\/4 \(50%\), mean .+ ≤ 1s +degrading \(\+\d+(\.\d)?% over the window; stable within ±10%\)$/m);
    expect(stdout).toMatch(/^RPO achieved +met 3\/4 \(75%\), mean 24\.5s, last 1m30s +≤ 1m +degrading/m);
  });

  it('--runbook and --since narrow the window; a bad --since is a one-line usage error', async () => {
    const only = JSON.parse((await stats(['--json', '--runbook', 'rec'])).stdout);
    expect(only).toMatchObject({ runbook: 'rec', runs: { total: 4 }, backup: { runs: 0, rate: null }, recovery: { runs: 4, succeeded: 3 } });
    const none = JSON.parse((await stats(['--json', '--since', '1ms'])).stdout);
    expect(none.runs.total).toBe(0);
    const bad = await runCli(['stats', '--since', 'last week', '--state-dir', stateDir], { cwd: dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe("runbook: --since 'last week' is not a duration (e.g. 90d, 12h, 30d)\n");
  });

  it('--format prometheus: the figures as gauges that promtool accepts', async () => {
    const { stdout } = await stats(['--format', 'prometheus']);
    expect(stdout).toContain('runbook_kpi_success_ratio{kind="backup"} 0.75\n');
    expect(stdout).toContain('runbook_kpi_success_ratio{kind="restore-test"} 0.5\n');
    expect(stdout).toContain('runbook_kpi_success_ratio{kind="recovery"} 0.75\n');
    expect(stdout).toContain('runbook_kpi_rto_met_ratio{runbook="rec"} 0.5\n');
    expect(stdout).toContain('runbook_kpi_rpo_seconds{runbook="rec"} 24.5\n');
    expect(stdout).toContain('runbook_kpi_trend{kpi="rto"} -1\n');
    expect(stdout).not.toContain('kpi="restore_test_success"');
    expect(stdout).not.toMatch(/run="/);
    if (!existsSync(PROMTOOL)) {
      if (process.env.CI === 'true') throw new Error(`${PROMTOOL} missing`);
      console.warn(`skipping promtool check: ${PROMTOOL} missing`);
      return;
    }
    const file = join(dir, 'stats.prom');
    writeFileSync(file, stdout);
    expect(execFileSync(PROMTOOL, ['check', 'metrics'], { input: stdout, encoding: 'utf8' })).toBe('');
  });

  it('a run whose process died is listed as unfinished and counted in no rate', async () => {
    const before = JSON.parse((await stats(['--json'])).stdout);
    writeFileSync(join(dir, 'hang.yaml'), 'runbook: hang\nobjectives: { rto: 1m }\nphases:\n  - id: p\n    steps:\n      - id: w\n        wait: 30s\n');
    const p = spawnCli(['run', join(dir, 'hang.yaml'), '--json', '--state-dir', stateDir]);
    await p.waitForEvent((e) => e.type === 'step.started' && e.step === 'w');
    process.kill(p.pid, 'SIGKILL');
    await p.done;
    const after = JSON.parse((await stats(['--json'])).stdout);
    expect(after.runs).toEqual({ total: before.runs.total + 1, drills: before.runs.drills, incidents: before.runs.incidents + 1, incomplete: 1 });
    expect(after.recovery).toEqual(before.recovery);
    expect(after.mttr).toEqual(before.mttr);
    expect(after.rto).toEqual(before.rto);
    expect((await stats()).stdout).toContain('11 real runs (2 drills, 9 incidents, 1 unfinished, not counted)');
  });
});
