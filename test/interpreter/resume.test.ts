/**
 * `runbook resume` after a real crash (spec §6): a run's interpreter is killed with SIGKILL while a
 * later step (`sleep 30…`) runs; a torn half line is appended to its journal; then `resume`.
 *
 * Decisions tested here:
 * - A non-idempotent in-flight step needs `--rerun-inflight` or `--skip-inflight` (or the TUI's
 *   question). A non-interactive resume without either exits 2 before anything runs, naming the
 *   step and the flags, and listing the dead run's processes still running (they are left alone:
 *   the operator may want to look at them).
 * - An `idempotent: true` in-flight step runs again without a flag.
 * - Processes of the dead run (each command runs in its own cgroup, which survives a SIGKILL of the
 *   interpreter; without cgroups, its own process group) are found by the run's cgroups (else by the
 *   `RUNBOOK_RUN_ID` in their environment) and killed when the resume proceeds, before anything runs
 *   again (a `warning` ORPHANS_KILLED says which).
 */
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readJournal } from '../../src/interpreter/journal.js';
import type { RunEvent } from '../../src/interpreter/events.js';
import { assertBuilt, eventually, findProcesses, journalOf, runCli, spawnCli } from '../helpers/cli.js';

let root: string;
beforeAll(() => {
  assertBuilt();
  root = mkdtempSync(join(tmpdir(), 'runbook-resume-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A runbook whose steps append lines to $WORK/lines; `hang` sleeps until $WORK/fast exists. */
function runbookText(id: string, sleepArg: string, opts: { idempotent?: boolean } = {}): string {
  return `runbook: ${id}
phases:
  - id: prepare
    steps:
      - id: one
        shell: { run: 'echo one >> "$WORK/lines"' }
      - id: two
        shell: { run: 'echo two >> "$WORK/lines"' }
        rollback: { shell: { run: 'echo undo-two >> "$WORK/lines"' } }
  - id: work
    steps:
      - id: hang
        ${opts.idempotent ? 'idempotent: true' : ''}
        shell:
          run: |
            echo hang-start >> "$WORK/lines"
            if [ ! -e "$WORK/fast" ]; then sleep ${sleepArg}; fi
            echo hang-end >> "$WORK/lines"
      - id: three
        shell: { run: 'echo three >> "$WORK/lines"' }
`;
}

interface Crashed {
  work: string;
  stateDir: string;
  runId: string;
  journal: string;
  env: NodeJS.ProcessEnv;
}

/** Start the run, SIGKILL the interpreter while `hang` sleeps, leave a torn half line in the journal. */
async function crash(name: string, sleepArg: string, opts: { idempotent?: boolean } = {}): Promise<Crashed> {
  const work = mkdtempSync(join(root, `${name}-`));
  const file = join(work, 'runbook.yaml');
  writeFileSync(file, runbookText(`resume-${name}`, sleepArg, opts));
  const stateDir = join(work, 'state');
  const env = { WORK: work };
  const p = spawnCli(['run', file, '--json', '--state-dir', stateDir], { env, timeoutMs: 20_000 });
  const started = await p.waitForEvent((e) => e.type === 'run.started');
  await p.waitForEvent((e) => e.type === 'step.started' && e.step === 'hang');
  expect(await eventually(() => findProcesses(`sleep ${sleepArg}`).length === 1)).toBe(true);
  p.child.kill('SIGKILL');
  const r = await p.done;
  expect(r.signal).toBe('SIGKILL');
  // The step's processes outlive the interpreter (in their cgroup, or their own process group).
  expect(findProcesses(`sleep ${sleepArg}`)).toHaveLength(1);
  const journal = journalOf(stateDir, started.run);
  appendFileSync(journal, '{"ts":"2026-11-26T04:00:00.000Z","run":"' + started.run + '","type":"step.fin');
  return { work, stateDir, runId: started.run, journal, env };
}

const lines = (c: Crashed) => readFileSync(join(c.work, 'lines'), 'utf8').trim().split('\n');
const count = (events: RunEvent[], type: string, step?: string) =>
  events.filter((e) => e.type === type && (step === undefined || (e as { step?: string }).step === step)).length;

/** The resumed journal is whole (no torn or corrupt line survives) and tells one continuous story. */
function checkJournal(c: Crashed): RunEvent[] {
  const { events, tornTail } = readJournal(c.journal);
  expect(tornTail).toBe(false);
  expect(count(events, 'run.started')).toBe(1);
  expect(count(events, 'run.resumed')).toBe(1);
  expect(count(events, 'run.finished')).toBe(1);
  expect(events[0].type).toBe('run.started');
  expect(events.at(-1)!.type).toBe('run.finished');
  // Finished steps were not run again.
  expect(count(events, 'step.started', 'one')).toBe(1);
  expect(count(events, 'step.started', 'two')).toBe(1);
  expect(count(events, 'step.finished', 'one')).toBe(1);
  expect(count(events, 'step.finished', 'two')).toBe(1);
  return events;
}

describe('resume after kill -9', () => {
  it('--rerun-inflight: the in-flight step runs again, finished steps do not, the orphan is killed', async () => {
    const c = await crash('rerun', '30.301');
    // The run's prediction is kept when its run ends: the dead process never kept one, its resume does.
    const planFile = join(c.stateDir, 'runs', c.runId, 'plan.json');
    expect(existsSync(planFile)).toBe(false);
    writeFileSync(join(c.work, 'fast'), '');
    const r = await runCli(['resume', c.runId, '--rerun-inflight', '--json', '--state-dir', c.stateDir], { env: c.env });
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(planFile)).toBe(true);
    expect(findProcesses('sleep 30.301')).toEqual([]);
    expect(lines(c)).toEqual(['one', 'two', 'hang-start', 'hang-start', 'hang-end', 'three']);
    const events = checkJournal(c);
    expect(events.find((e) => e.type === 'run.resumed')).toMatchObject({ inflight: [{ step: 'hang', decision: 'rerun' }] });
    expect(events.find((e) => e.type === 'approval' && e.step === 'hang')).toMatchObject({ decision: 'rerun' });
    expect(events.find((e) => e.type === 'warning' && e.code === 'ORPHANS_KILLED')).toMatchObject({ message: expect.stringContaining('sleep 30.301') });
    expect(events.at(-1)).toMatchObject({ type: 'run.finished', status: 'succeeded' });
    // The NDJSON printed by the resume is the tail of the journal.
    expect(r.events.map((e) => e.type)).toEqual(events.slice(events.findIndex((e) => e.type === 'run.resumed')).map((e) => e.type));
  }, 30_000);

  it('--skip-inflight (with --no-tui): the in-flight step is recorded as skipped, the run continues', async () => {
    const c = await crash('skip', '30.302');
    const r = await runCli(['resume', c.runId, '--skip-inflight', '--no-tui', '--state-dir', c.stateDir], { env: c.env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('three');
    expect(findProcesses('sleep 30.302')).toEqual([]);
    expect(lines(c)).toEqual(['one', 'two', 'hang-start', 'three']);
    const events = checkJournal(c);
    expect(events.filter((e) => e.type === 'step.finished' && e.step === 'hang')).toMatchObject([{ status: 'skipped' }]);
    expect(events.find((e) => e.type === 'run.resumed')).toMatchObject({ inflight: [{ step: 'hang', decision: 'skip' }] });
    expect(events.at(-1)).toMatchObject({ type: 'run.finished', status: 'succeeded' });
  }, 30_000);

  it('an idempotent in-flight step runs again without a flag', async () => {
    const c = await crash('idempotent', '30.303', { idempotent: true });
    writeFileSync(join(c.work, 'fast'), '');
    const r = await runCli(['resume', 'latest', '--json', '--state-dir', c.stateDir], { env: c.env });
    expect(r.code, r.stderr).toBe(0);
    expect(findProcesses('sleep 30.303')).toEqual([]);
    expect(lines(c)).toEqual(['one', 'two', 'hang-start', 'hang-start', 'hang-end', 'three']);
    const events = checkJournal(c);
    expect(events.find((e) => e.type === 'run.resumed')).toMatchObject({ inflight: [{ step: 'hang', decision: 'rerun' }] });
    // No question was needed, so no approval.
    expect(count(events, 'approval')).toBe(0);
  }, 30_000);

  it('no flag for a non-idempotent in-flight step: exit 2, a clear message, nothing executed', async () => {
    const c = await crash('noflag', '30.304');
    const before = readFileSync(c.journal, 'utf8');
    const r = await runCli(['resume', c.runId, '--json', '--state-dir', c.stateDir], { env: c.env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("step 'hang' was running when the process died and is not idempotent");
    expect(r.stderr).toContain('--rerun-inflight');
    expect(r.stderr).toContain('--skip-inflight');
    expect(r.stderr).toMatch(/still running from the dead process.*sleep 30\.304/s);
    expect(r.stdout).toBe('');
    expect(lines(c)).toEqual(['one', 'two', 'hang-start']);
    // Only the torn half line was cut; no event was added.
    const after = readFileSync(c.journal, 'utf8');
    expect(before.startsWith(after)).toBe(true);
    expect(readJournal(c.journal).events.some((e) => e.type === 'run.resumed')).toBe(false);
    // The lock was released: the resume with a decision proceeds (and kills the orphan).
    expect(findProcesses('sleep 30.304')).toHaveLength(1);
    writeFileSync(join(c.work, 'fast'), '');
    const again = await runCli(['resume', c.runId, '--rerun-inflight', '--json', '--state-dir', c.stateDir], { env: c.env });
    expect(again.code, again.stderr).toBe(0);
    expect(findProcesses('sleep 30.304')).toEqual([]);
    checkJournal(c);
  }, 40_000);

  it('a finished run cannot be resumed (exit 2)', async () => {
    const work = mkdtempSync(join(root, 'finished-'));
    const file = join(work, 'runbook.yaml');
    writeFileSync(file, runbookText('resume-finished', '0.01'));
    const stateDir = join(work, 'state');
    const r = await runCli(['run', file, '--json', '--state-dir', stateDir], { env: { WORK: work } });
    expect(r.code).toBe(0);
    const again = await runCli(['resume', r.events[0].run, '--rerun-inflight', '--json', '--state-dir', stateDir], { env: { WORK: work } });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('already finished');
    expect(existsSync(join(work, 'lines'))).toBe(true);
  }, 30_000);
});
