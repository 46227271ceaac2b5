// `plan` is the dry run: execution order with concurrency, rendered bodies (secrets as ***, unknown
// parts as their expression), guards, rollbacks, timeouts/retries, and the predicted critical path
// against budgets and the RTO. It must never execute anything.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { allDiagnostics, loadRunbook } from '../../src/dsl/validate.js';
import { resolveParams } from '../../src/dsl/params.js';
import { buildPlan, type Plan, type PlannedStep } from '../../src/interpreter/plan.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../..');
const CLI = join(ROOT, 'dist/src/cli.js');
const FAILOVER = join(HERE, 'fixtures/failover.yaml');
const NESTED = join(HERE, 'fixtures/nested.yaml');
const SECRET = 'tok-3f9a-very-secret-value';

const tmp = mkdtempSync(join(tmpdir(), 'runbook-plan-'));
const marker = join(tmp, 'must-not-exist');
const env = { PLAN_TEST_TOKEN: SECRET, PLAN_TEST_MARKER: marker };
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function plan(file: string, given: Record<string, string> = {}): Plan {
  const loaded = loadRunbook(file);
  expect(allDiagnostics(loaded)).toEqual([]);
  const params = resolveParams(loaded.model!, given, 'cli');
  expect(params.diagnostics).toEqual([]);
  return buildPlan(loaded.model!, { params: params.values, env, loaded });
}

const stepOf = (p: Plan, id: string): PlannedStep => p.phases.flatMap((ph) => [...ph.steps, ...ph.finally]).find((s) => s.id === id)!;

describe('buildPlan', () => {
  const p = plan(FAILOVER);

  it('orders steps by concurrency group: fan-out after stop-app, fan-in at verify', () => {
    expect(p.phases.map((ph) => ph.id)).toEqual(['detect', 'restore', 'report']);
    expect(p.phases[1].groups).toEqual([['stop-app'], ['restore-db', 'restore-cache'], ['verify']]);
    expect(p.phases[1].steps.map((s) => [s.id, s.group])).toEqual([
      ['stop-app', 0],
      ['restore-db', 1],
      ['restore-cache', 1],
      ['verify', 2],
    ]);
    expect(stepOf(p, 'verify').needs).toEqual(['restore-db', 'restore-cache']);
  });

  it('evaluates guards over params to true/false and over earlier steps to unknown', () => {
    expect(stepOf(p, 'restore-db').when).toEqual({ expression: "params.target == 'staging'", value: 'true' });
    expect(stepOf(p, 'restore-cache').when).toEqual({ expression: 'params.force', value: 'false' });
    expect(stepOf(p, 'verify').when).toEqual({ expression: "steps.restore-db.status == 'succeeded'", value: 'unknown' });
    expect(stepOf(p, 'check').when).toBeUndefined();
  });

  it('renders bodies with known values, secrets as *** and unknown parts as their expression', () => {
    expect(stepOf(p, 'stop-app').body).toEqual({ run: "echo stop 'staging'" });
    expect(stepOf(p, 'restore-db').body).toEqual({ connection: 'app', method: 'POST', url: '/restore?token=***' });
    expect(stepOf(p, 'restore-db').rendered).toBe('POST app:/restore?token=***');
    expect(stepOf(p, 'verify').body).toEqual({ run: 'echo ${{ steps.check.outputs.healthy }}' });
    expect(JSON.stringify(p)).not.toContain(SECRET);
  });

  it('shows timeouts, retries and rollbacks', () => {
    const stop = stepOf(p, 'stop-app');
    expect(stop.timeout_ms).toBe(30_000);
    expect(stop.retry).toEqual({ attempts: 3, delay_ms: 2_000, backoff: 2 });
    expect(stop.rollback).toMatchObject({ type: 'shell', body: { run: 'echo start' }, timeout_ms: 45_000, retry: { attempts: 1 } });
    expect(stepOf(p, 'restore-db').timeout_ms).toBe(60_000); // defaults.timeout
    expect(stepOf(p, 'restore-db').rollback).toBeUndefined();
  });

  it('predicts the critical path against each budget and the RTO', () => {
    expect(p.phases.map((ph) => [ph.id, ph.predicted_ms, ph.budget_ms, ph.within_budget, ph.critical_path])).toEqual([
      ['detect', 10_000, 60_000, true, ['check']],
      ['restore', 95_000, 120_000, true, ['stop-app', 'restore-db', 'verify']],
      ['report', 10_000, 5_000, false, ['settle']],
    ]);
    expect(p.predicted_ms).toBe(115_000);
    expect(p.within_rto).toBe(true);
    expect(p.predicted_source).toBe('estimate');
    expect(p.steps_without_estimate).toEqual([]);
    expect(stepOf(p, 'settle')).toMatchObject({ estimate_ms: 10_000, estimate_source: 'wait' });
    expect(p.warnings).toEqual(["phase 'report' is predicted to take longer than its budget"]);
  });

  it('takes steps whose guard is false off the critical path', () => {
    const q = plan(FAILOVER, { target: 'production', force: 'true' });
    expect(stepOf(q, 'restore-db').when?.value).toBe('false');
    expect(stepOf(q, 'restore-cache').when?.value).toBe('true');
    expect(q.phases[1].critical_path).toEqual(['stop-app', 'restore-cache', 'verify']);
    expect(q.phases[1].predicted_ms).toBe(65_000);
    expect(q.predicted_ms).toBe(85_000);
    expect(stepOf(q, 'restore-db').critical).toBe(false);
  });

  it('nests the plan of a sub-runbook, whose prediction is the step estimate', () => {
    const n = plan(NESTED);
    const child = stepOf(n, 'child');
    expect(child.runbook?.runbook).toBe('child');
    expect(child.runbook?.params).toEqual({ target: 'replica' });
    expect(child.runbook?.phases[0].steps.map((s) => [s.id, s.estimate_ms, s.body])).toEqual([
      ['first', 40_000, { run: "echo first 'replica'" }],
      ['second', 30_000, '30s'],
    ]);
    expect(child.runbook?.predicted_ms).toBe(70_000);
    expect(child).toMatchObject({ estimate_ms: 70_000, estimate_source: 'estimate' });
    expect(n.predicted_ms).toBe(70_000);
    expect(n.within_rto).toBe(false);
  });

  it('executes nothing', () => {
    expect(stepOf(p, 'check').body).toEqual({ run: `touch '${marker}'` });
    expect(existsSync(marker)).toBe(false);
  });
});

const haveDist = existsSync(CLI);
if (!haveDist) {
  if (process.env.CI === 'true') throw new Error(`${CLI} is missing: build first (npx tsc -p .)`);
  console.warn(`skipping the CLI plan tests: ${CLI} is missing (build with npx tsc -p .)`);
}

describe.skipIf(!haveDist)('runbook plan (CLI)', () => {
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [CLI, 'plan', ...args], { cwd: ROOT, env: { ...process.env, ...env, RUNBOOK_STATE_DIR: join(tmp, 'state') }, encoding: 'utf8' });

  it('--json gives the same plan as one JSON document, without the secret, and runs nothing', () => {
    const r = run(FAILOVER, '--json', '--set', 'target=production', '--set', 'force=true');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).not.toContain(SECRET);
    const json = JSON.parse(r.stdout) as Plan;
    expect(json.params).toEqual({ target: 'production', force: true });
    expect(json.phases.map((ph) => [ph.id, ph.predicted_ms, ph.within_budget])).toEqual([
      ['detect', 10_000, true],
      ['restore', 65_000, true],
      ['report', 10_000, false],
    ]);
    expect(json.predicted_ms).toBe(85_000);
    expect(json.within_rto).toBe(true);
    expect(stepOf(json, 'restore-db')).toMatchObject({ when: { value: 'false' }, body: { url: '/restore?token=***' } });
    expect(stepOf(json, 'verify')).toMatchObject({ when: { value: 'unknown' }, rendered: 'echo ${{ steps.check.outputs.healthy }}' });
    expect(existsSync(marker)).toBe(false);
  });

  it('prints the plan as text with the critical path and verdicts', () => {
    const r = run(FAILOVER);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Critical path: check → stop-app → restore-db → verify → settle');
    expect(r.stdout).toContain('Predicted: 1m 55s (from estimate) against RTO 5m ✓');
    expect(r.stdout).toContain("when params.force → false (will be skipped)");
    expect(r.stdout).toContain('POST app:/restore?token=***');
    expect(r.stdout).not.toContain(SECRET);
    expect(existsSync(marker)).toBe(false);
  });

  it('refuses bad params with exit 2 and nothing planned', () => {
    const r = run(FAILOVER, '--set', 'force=maybe');
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('--set force: expected true or false, got "maybe"');
  });
});
