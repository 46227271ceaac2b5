// Plan against actual through the real CLI: a run keeps its plan (runs/<id>/plan.json), the report
// compares it with the journal (guards, phase durations, critical path), history --accuracy sums up.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = join(ROOT, 'dist/src/cli.js');
const FILE = join(ROOT, 'test/plan/fixtures/accuracy.yaml');
const state = mkdtempSync(join(tmpdir(), 'runbook-accuracy-'));
afterAll(() => rmSync(state, { recursive: true, force: true }));
const cli = (args: string[]) => spawnSync(process.execPath, [CLI, ...args, '--state-dir', state], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });

describe.skipIf(!existsSync(CLI))('plan against actual', () => {
  it('the report compares the plan with the run; history --accuracy gives the error', () => {
    expect(cli(['run', FILE, '--no-tui']).status).toBe(0);
    const [run] = readdirSync(join(state, 'runs'));
    expect(existsSync(join(state, 'runs', run, 'plan.json'))).toBe(true);
    const md = cli(['report', 'latest']).stdout;
    expect(md).toContain('## Plan Against Actual');
    expect(md).toMatch(/\| Run \| 400ms \| \d+ms \| \+\d+ms \([\d.]+%\) \|/);
    expect(md).toMatch(/\| Phase `p` \| 400ms \| \d+ms \| \+\d+ms \|/);
    expect(md).toContain('| `b` | false | skipped | yes |');
    expect(md).toMatch(/Critical path \(as planned\): `a` 300ms → \d+ms, `c` 100ms → \d+ms/);
    const acc = JSON.parse(cli(['history', '--accuracy', '--json']).stdout);
    expect(acc).toMatchObject({ runs: 1, counted: 1, rows: [{ run, runbook: 'accuracy', predicted_ms: 400, complete: true }] });
    expect(acc.rows[0].actual_ms).toBeGreaterThanOrEqual(500);
    expect(acc.mean_abs_error_pct).toBe(acc.rows[0].error_pct);
    expect(cli(['history', '--accuracy']).stdout).toMatch(/mean absolute error [\d.]+% \(\d+ms\) over 1 run with a complete prediction/);
  });
});
