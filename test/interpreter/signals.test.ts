/**
 * Signals through the real CLI (spec §4): SIGINT/SIGTERM cancel running steps (their process groups
 * are killed), journal it, roll back per policy, exit 130 with run status `aborted`; a second signal
 * skips the rollback (a running rollback body is cancelled, later ones do not run).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/interpreter/events.js';
import { assertBuilt, eventually, findProcesses, journalOf, readJournalEvents, spawnCli } from '../helpers/cli.js';

let dir: string;
beforeAll(() => {
  assertBuilt();
  dir = mkdtempSync(join(tmpdir(), 'runbook-signals-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const summary = (events: RunEvent[]) =>
  events.map((e) => [e.type, (e as { step?: string }).step, (e as { status?: string }).status].filter(Boolean).join(' '));

function write(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

describe('signals', () => {
  it('SIGINT during a shell step: its process group is killed, the rollback runs, exit 130, aborted', async () => {
    const file = write(
      'sigint.yaml',
      `runbook: sig-int
phases:
  - id: main
    steps:
      - id: a
        shell: { run: "true" }
        rollback: { shell: { run: "echo undo a" } }
      - id: b
        # a background child in the same group must die too
        shell: { run: "sleep 30.101 & sleep 30.102; wait" }
        rollback: { shell: { run: "echo undo b" } }
      - id: c
        shell: { run: "true" }
        rollback: { shell: { run: "echo undo c" } }
finally:
  - id: rf
    log: cleanup
`,
    );
    const stateDir = join(dir, 'state-int');
    const p = spawnCli(['run', file, '--json', '--state-dir', stateDir], { timeoutMs: 20_000 });
    await p.waitForEvent((e) => e.type === 'step.started' && e.step === 'b');
    expect(await eventually(() => findProcesses('sleep 30.102').length === 1 && findProcesses('sleep 30.101').length === 1)).toBe(true);
    const signalledAt = Date.now();
    p.child.kill('SIGINT');
    const r = await p.done;
    expect(r.code, r.stderr).toBe(130);
    expect(Date.now() - signalledAt).toBeLessThan(3000);
    // The whole group is gone, the background sleep too.
    expect(findProcesses('sleep 30.101')).toEqual([]);
    expect(findProcesses('sleep 30.102')).toEqual([]);
    const ev = r.events;
    expect(ev.find((e) => e.type === 'warning' && e.code === 'ABORT')).toMatchObject({ message: expect.stringContaining('aborted by SIGINT') });
    expect(ev.find((e) => e.type === 'step.finished' && e.step === 'b')).toMatchObject({ status: 'cancelled' });
    expect(ev.some((e) => e.type === 'step.started' && e.step === 'c')).toBe(false);
    expect(ev.filter((e) => e.type === 'rollback.finished')).toMatchObject([
      { step: 'b', status: 'succeeded' },
      { step: 'a', status: 'succeeded' },
    ]);
    expect(ev.find((e) => e.type === 'step.finished' && e.step === 'rf')).toMatchObject({ status: 'succeeded' });
    expect(ev.at(-1)).toMatchObject({ type: 'run.finished', status: 'aborted', error: 'aborted by SIGINT' });
    // The journal on disk says the same.
    expect(summary(readJournalEvents(journalOf(stateDir, ev[0].run)))).toEqual(summary(ev));
  }, 30_000);

  it('SIGTERM is handled like SIGINT (exit 130, aborted, rolled back)', async () => {
    const file = write(
      'sigterm.yaml',
      `runbook: sig-term
phases:
  - id: main
    steps:
      - id: a
        shell: { run: "sleep 30.111" }
        rollback: { log: undo a }
`,
    );
    const p = spawnCli(['run', file, '--json', '--state-dir', join(dir, 'state-term')], { timeoutMs: 20_000 });
    await p.waitForEvent((e) => e.type === 'step.started' && e.step === 'a');
    expect(await eventually(() => findProcesses('sleep 30.111').length === 1)).toBe(true);
    p.child.kill('SIGTERM');
    const r = await p.done;
    expect(r.code).toBe(130);
    expect(findProcesses('sleep 30.111')).toEqual([]);
    expect(r.events.filter((e) => e.type === 'rollback.finished')).toMatchObject([{ step: 'a', status: 'succeeded' }]);
    expect(r.events.at(-1)).toMatchObject({ type: 'run.finished', status: 'aborted', error: 'aborted by SIGTERM' });
  }, 30_000);

  it('a step that ignores SIGTERM is killed with SIGKILL after the grace period', async () => {
    const file = write(
      'stubborn.yaml',
      `runbook: sig-stubborn
phases:
  - id: main
    steps:
      - id: a
        shell: { run: "trap '' TERM; sleep 30.121" }
`,
    );
    const p = spawnCli(['run', file, '--json', '--state-dir', join(dir, 'state-stubborn')], { timeoutMs: 20_000 });
    await p.waitForEvent((e) => e.type === 'step.started' && e.step === 'a');
    expect(await eventually(() => findProcesses('sleep 30.121').length === 1)).toBe(true);
    const t0 = Date.now();
    p.child.kill('SIGINT');
    const r = await p.done;
    expect(r.code).toBe(130);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(findProcesses('sleep 30.121')).toEqual([]);
    expect(r.events.find((e) => e.type === 'step.finished')).toMatchObject({ status: 'cancelled', error: expect.stringContaining('SIGKILL') });
  }, 30_000);

  it('a second SIGINT during a slow rollback cancels it and skips the rest; finally still runs', async () => {
    const file = write(
      'sigint2.yaml',
      `runbook: sig-int-twice
phases:
  - id: main
    steps:
      - id: a
        shell: { run: "true" }
        rollback: { shell: { run: "echo undo a" } }
      - id: slow-undo
        shell: { run: "true" }
        rollback: { shell: { run: "sleep 30.131" } }
      - id: b
        shell: { run: "sleep 30.132" }
        rollback: { shell: { run: "echo undo b" } }
finally:
  - id: rf
    log: cleanup
`,
    );
    const p = spawnCli(['run', file, '--json', '--state-dir', join(dir, 'state-int2')], { timeoutMs: 20_000 });
    await p.waitForEvent((e) => e.type === 'step.started' && e.step === 'b');
    expect(await eventually(() => findProcesses('sleep 30.132').length === 1)).toBe(true);
    p.child.kill('SIGINT');
    await p.waitForEvent((e) => e.type === 'rollback.started' && e.step === 'slow-undo');
    expect(await eventually(() => findProcesses('sleep 30.131').length === 1)).toBe(true);
    const t0 = Date.now();
    p.child.kill('SIGINT');
    const r = await p.done;
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(r.code, r.stderr).toBe(130);
    expect(findProcesses('sleep 30.131')).toEqual([]);
    const ev = r.events;
    expect(ev.filter((e) => e.type === 'rollback.finished')).toMatchObject([
      { step: 'b', status: 'succeeded' },
      { step: 'slow-undo', status: 'cancelled' },
    ]);
    // a's rollback never runs.
    expect(ev.some((e) => e.type === 'rollback.started' && e.step === 'a')).toBe(false);
    expect(ev.some((e) => e.type === 'warning' && e.code === 'ROLLBACK_SKIPPED')).toBe(true);
    expect(ev.find((e) => e.type === 'step.finished' && e.step === 'rf')).toMatchObject({ status: 'succeeded' });
    expect(ev.at(-1)).toMatchObject({ type: 'run.finished', status: 'aborted', error: expect.stringContaining('rollback skipped') });
  }, 30_000);
});
