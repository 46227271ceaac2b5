// `runbook report` and `runbook history` through the real CLI, on runs the CLI itself made.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

describe('report and history', () => {
  let dir: string;
  let state: string;
  let okRun: string;
  let failedRun: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'runbook-report-'));
    state = join(dir, 'state');
    const file = join(dir, 'drill.yaml');
    writeFileSync(
      file,
      [
        'runbook: drill',
        'title: A small drill',
        'severity: P2',
        'objectives: { rto: 1m }',
        'params:',
        '  fail: { type: boolean, default: false }',
        'phases:',
        '  - id: work',
        '    budget: 30s',
        '    steps:',
        '      - id: first',
        '        shell: { run: echo one }',
        '        rollback: { log: undo first }',
        '      - id: second',
        '        assert: "!params.fail"',
        '',
      ].join('\n'),
    );
    const ok = await runCli(['run', file, '--json', '--state-dir', state]);
    expect(ok.code).toBe(0);
    okRun = ok.events[0].run;
    await new Promise((r) => setTimeout(r, 50));
    const failed = await runCli(['run', file, '--json', '--state-dir', state, '--set', 'fail=true']);
    expect(failed.code).toBe(1);
    failedRun = failed.events[0].run;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('history lists runs newest first with status and RTO', async () => {
    const r = await runCli(['history', '--json', '--state-dir', state]);
    expect(r.code).toBe(0);
    const runs = JSON.parse(r.stdout) as { run: string; runbook: string; status: string; rto_met: boolean | null }[];
    expect(runs.map((x) => [x.run, x.runbook, x.status, x.rto_met])).toEqual([
      [failedRun, 'drill', 'rolled_back', false],
      [okRun, 'drill', 'succeeded', true],
    ]);
    const text = await runCli(['history', 'drill', '--state-dir', state]);
    expect(text.stdout.split('\n')[0]).toMatch(/^RUN\s+RUNBOOK\s+STARTED\s+DURATION\s+STATUS\s+RTO$/);
    expect(text.stdout).toContain('rolled_back');
    expect((await runCli(['history', 'other', '--state-dir', state])).stdout).toBe(`no runs of 'other' in ${state}\n`);
  });

  it('report renders md, json, junit and prometheus, to stdout or a file written whole', async () => {
    const md = await runCli(['report', 'latest', '--state-dir', state]);
    expect(md.code).toBe(0);
    expect(md.stdout).toContain(failedRun);
    expect(md.stdout).toContain('rolled_back');
    const json = JSON.parse((await runCli(['report', okRun, '--format', 'json', '--state-dir', state])).stdout);
    expect(json).toMatchObject({ run: { status: 'succeeded' }, phases: [{ id: 'work', within_budget: true }], rollbacks: [] });
    const out = join(dir, 'report.xml');
    const junit = await runCli(['report', failedRun, '--format', 'junit', '-o', out, '--state-dir', state]);
    expect(junit.code).toBe(0);
    expect(junit.stdout).toBe('');
    const xml = readFileSync(out, 'utf8');
    expect(xml).toMatch(/^<\?xml/);
    expect(xml).toContain('name="second"');
    expect(xml).toContain('<failure');
    const prom = await runCli(['report', okRun, '--format', 'prometheus', '--state-dir', state]);
    expect(prom.stdout).toMatch(/^runbook_run_rto_met\{[^}]*runbook="drill"[^}]*\} 1$/m);
    // Every run also wrote its markdown report next to its journal.
    expect(readFileSync(join(state, 'runs', okRun, 'report.md'), 'utf8')).toContain('A small drill');
  });

  it('unknown runs and formats are usage errors (exit 2)', async () => {
    const missing = await runCli(['report', 'nope', '--state-dir', state]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('nope');
    const bad = await runCli(['report', 'latest', '--format', 'pdf', '--state-dir', state]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/pdf/);
  });
});
