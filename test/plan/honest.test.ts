// An honest plan (issue 15): steps without an estimate make the prediction a lower bound with no ✓,
// each step shows the timeout that really applies, rollbacks show their titles, and the rollback
// coverage is counted per spec §12.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { allDiagnostics, loadRunbook } from '../../src/dsl/validate.js';
import { buildPlan, type PlannedStep } from '../../src/interpreter/plan.js';
import { renderPlanText } from '../../src/cli/plan-text.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const FILE = join(ROOT, 'test/plan/fixtures/honest.yaml');
const loaded = loadRunbook(FILE);
const plan = buildPlan(loaded.model!, { params: {}, loaded });
const step = (id: string) => plan.phases[0].steps.find((s) => s.id === id) as PlannedStep;

describe('an honest plan', () => {
  it('the fixture is valid and has one NO_ROLLBACK warning (poke)', () => {
    expect(allDiagnostics(loaded).map((d) => [d.code, d.severity, d.line])).toEqual([['NO_ROLLBACK', 'warning', 21]]);
  });

  it('with steps lacking an estimate the prediction is a lower bound: no ✓ against the RTO or the budget', () => {
    expect(plan.predicted_complete).toBe(false);
    expect(plan.phases[0].unknown_steps).toEqual(['gate', 'wipe', 'health']);
    expect(plan.within_rto).toBeNull();
    // The known part alone passes the 1m budget: that is certain, so the phase gets its ✗.
    expect(plan.phases[0].within_budget).toBe(false);
    const text = renderPlanText(plan);
    expect(text).toContain('Predicted: ≥ 1m 16s (from estimate; unknown for 3 steps: gate, wipe, health) against RTO 2m\n');
    expect(text).not.toMatch(/RTO 2m ✓/);
    expect(text).toContain('(budget 1m, predicted ≥ 1m 16s, unknown for 3 steps ✗ over)');
  });

  it('a lower bound that already passes the RTO is still a ✗', () => {
    const tight = buildPlan({ ...loaded.model!, objectives: { ...loaded.model!.objectives, rto_ms: 10_000 } }, { params: {}, loaded });
    expect(tight.within_rto).toBe(false);
    expect(tight.warnings).toContain('the run is predicted to take longer than the RTO (even without the steps that have no estimate)');
  });

  it('no estimate and no history anywhere: "unknown for N steps"', () => {
    const none = loadRunbook(join(ROOT, 'test/runbooks/valid/minimal.yaml'));
    const m = none.model!;
    const p = buildPlan({ ...m, objectives: { ...m.objectives, rto_ms: 60_000 }, phases: m.phases.map((ph) => ({ ...ph, steps: ph.steps.map((s) => ({ ...s, type: 'shell', body: { run: 'true' } })) })) }, { params: {}, loaded: none });
    expect(renderPlanText(p)).toMatch(/Predicted: unknown for 1 step \(no estimate, no history: hello\) against RTO 1m\n/);
  });

  it("shows each step's effective timeout: an approval's own, a runbook step's none", () => {
    expect([step('stop').timeout_ms, step('stop').timeout_source]).toEqual([20_000, 'default']);
    expect([step('gate').timeout_ms, step('gate').timeout_source]).toEqual([120_000, 'approve']);
    expect([step('child').timeout_ms, step('child').timeout_source]).toEqual([null, 'none']);
    const text = renderPlanText(plan);
    expect(text).toContain("timeout 2m (the approval's own)");
    expect(text).toContain('no timeout (its own steps have theirs)');
  });

  it('shows rollback titles, irreversible reasons and the coverage', () => {
    const text = renderPlanText(plan);
    expect(text).toContain('↺ rollback: Start the app again');
    expect(text).toContain('↺ no rollback: irreversible — wiped data cannot be brought back');
    expect(text).toContain('↺ no rollback (NO_ROLLBACK)');
    expect(plan.rollback_coverage).toEqual({ changing: 3, with_rollback: 1, irreversible: 1, uncovered: ['poke'], summary: 'rollback for 1 of 3 changing steps; 1 marked irreversible; 1 with neither (poke)' });
    expect(text).toContain('Rollback: rollback for 1 of 3 changing steps; 1 marked irreversible; 1 with neither (poke)');
  });
});

const CLI = join(ROOT, 'dist/src/cli.js');
describe.skipIf(!existsSync(CLI))('plan (CLI)', () => {
  it('prints the lower bound and the coverage, exit 0', () => {
    const r = spawnSync(process.execPath, [CLI, 'plan', FILE], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Predicted: ≥ 1m 16s');
    expect(r.stdout).toContain('Rollback: rollback for 1 of 3 changing steps');
    // NO_ROLLBACK is validate's to print; plan shows the coverage instead.
    expect(r.stderr).toBe('');
  });
});
