/**
 * Every runbook shipped in runbooks/ validates and plans through the real CLI, with the params it
 * needs, and carries what an on-call engineer relies on: title, description, severity, an RTO, phase
 * budgets that fit in it, and estimates so `plan` can predict the critical path.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { checkInventoryHosts } from '../src/dsl/check-hosts.js';
import { allDiagnostics, loadRunbook } from '../src/dsl/validate.js';
import { loadInventory, selectHosts } from '../src/inventory/index.js';

const ROOT = join(import.meta.dirname, '..');
const CLI = join(ROOT, 'dist', 'src', 'cli.js');
const DIR = join(ROOT, 'runbooks');

/** Params a runbook requires (`required: true`), with values a real run could take. */
const REQUIRED_PARAMS: Record<string, Record<string, string>> = {
  'version-rollback.yaml': { version: '1.2.3' },
};

let missing: string | undefined;
if (!existsSync(CLI)) {
  missing = `${CLI} not built (npm run build)`;
  if (process.env.CI === 'true') throw new Error(missing);
  console.warn(`skipping runbooks-ship: ${missing}`);
}

const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml')).sort();

function cli(args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
}

interface PlanJson {
  runbook: string;
  severity?: string;
  objectives: { rto_ms?: number };
  phases: { id: string; budget_ms?: number; steps: { id: string }[] }[];
  predicted_ms: number;
  within_rto: boolean;
  steps_without_estimate: string[];
}

describe.skipIf(missing !== undefined)('runbooks/ ships valid, plannable runbooks', () => {
  it('holds the DR guide procedures', () => {
    for (const name of [
      'database-corruption', 'external-service-outage', 'circuit-breaker-reset', 'complete-system-failure', 'full-backup',
      'backup-verification', 'pitr-setup', 'pitr-restore', 'backup-retention', 'schema-rollback', 'rolling-restart',
    ]) {
      expect(files).toContain(`${name}.yaml`);
    }
  });

  it('validates all of them in one call', () => {
    const res = cli(['validate', ...files.map((f) => join('runbooks', f))]);
    expect(res.stderr + res.stdout).not.toMatch(/✗/);
    expect(res.status).toBe(0);
  });

  for (const file of files) {
    it(`plans ${file}`, () => {
      const sets = Object.entries(REQUIRED_PARAMS[file] ?? {}).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
      const res = cli(['plan', join('runbooks', file), '--json', ...sets]);
      expect(res.status, res.stderr).toBe(0);
      const plan = JSON.parse(res.stdout) as PlanJson;
      const doc = parse(readFileSync(join(DIR, file), 'utf8')) as {
        runbook: string; title?: string; description?: string; severity?: string; phases: { id: string; budget?: string }[];
      };
      expect(plan.runbook).toBe(file.replace(/\.yaml$/, ''));
      expect(doc.title, 'title').toBeTruthy();
      expect(doc.description, 'description').toBeTruthy();
      expect(['P0', 'P1', 'P2', 'P3']).toContain(doc.severity);
      expect(plan.phases.map((p) => p.id)).toEqual(doc.phases.map((p) => p.id));
      // An RTO, a budget on every phase, the budgets within the RTO, and a prediction that fits.
      const rto = plan.objectives.rto_ms!;
      expect(rto).toBeGreaterThan(0);
      for (const p of plan.phases) expect(p.budget_ms, `phase ${p.id} budget`).toBeGreaterThan(0);
      expect(plan.phases.reduce((s, p) => s + (p.budget_ms ?? 0), 0)).toBeLessThanOrEqual(rto);
      expect(plan.within_rto).toBe(true);
    });
  }

  it('the example inventory (runbooks/inventory/example.yaml) has every group the runbooks run on, with the vars they read', () => {
    const inv = loadInventory(join(DIR, 'inventory', 'example.yaml'));
    let sshRunbooks = 0;
    for (const file of files) {
      const loaded = loadRunbook(join(DIR, file));
      expect(allDiagnostics(loaded).filter((d) => d.severity !== 'warning')).toEqual([]);
      if (Object.values(loaded.model!.connections).some((c) => c.kind === 'ssh')) sshRunbooks++;
      expect(checkInventoryHosts(loaded.model!, inv), file).toEqual([]);
    }
    expect(sshRunbooks).toBe(2);
    const app = selectHosts(inv, ['app']);
    expect(app.map((h) => [h.name, h.address, h.port, h.user])).toEqual([
      ['app-1', '10.20.1.11', undefined, 'deploy'],
      ['app-2', '10.20.1.12', undefined, 'deploy'],
      ['app-3', '10.20.1.13', 2222, 'deploy'],
    ]);
    expect(app[0].vars).toMatchObject({ app_dir: '/opt/trademaster', app_url: 'http://localhost:8080' });
    expect(selectHosts(inv, ['db'])).toEqual([expect.objectContaining({ name: 'db-1', user: 'postgres', vars: expect.objectContaining({ pg_port: 5432 }) })]);
  });

  it('recovery runbooks hold the guide objectives (RTO ≤ 5 min, RPO 1 min for data restores)', () => {
    const objectives = (file: string) => {
      const res = cli(['plan', join('runbooks', file), '--json']);
      return (JSON.parse(res.stdout) as { objectives: { rto_ms?: number; rpo_ms?: number } }).objectives;
    };
    expect(objectives('database-corruption.yaml')).toMatchObject({ rto_ms: 300_000, rpo_ms: 60_000 });
    expect(objectives('pitr-restore.yaml')).toMatchObject({ rto_ms: 300_000, rpo_ms: 60_000 });
    expect(objectives('external-service-outage.yaml')).toMatchObject({ rto_ms: 120_000, rpo_ms: 0 });
    // Scenario 5: the guide expects 5-10 minutes.
    expect(objectives('complete-system-failure.yaml')).toMatchObject({ rto_ms: 600_000, rpo_ms: 60_000 });
  });
});
