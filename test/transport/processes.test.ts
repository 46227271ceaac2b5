/**
 * Spec §12 "Processes", through the real CLI and real processes: whatever a step starts — `env -i`,
 * `setsid`, a double fork, a child that ignores SIGTERM, a step that sets its own `RUNBOOK_RUN_ID` —
 * none survives its step's end, its timeout, an abort (SIGTERM to the CLI), or a `kill -9` of the
 * interpreter followed by `resume`. `shell.detach: true` leaves exactly its service running, and
 * resume leaves it alone. Checked by pid in /proc; every pid is killed at the end whatever happens.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/interpreter/events.js';
import { trackingRoot } from '../../src/transport/local/track.js';
import { assertBuilt, eventually, runCli, spawnCli } from '../helpers/cli.js';

let root: string;
const started: number[] = [];
beforeAll(() => {
  assertBuilt();
  root = mkdtempSync(join(tmpdir(), 'runbook-processes-'));
  if (!trackingRoot()) {
    const why = 'no writable cgroup v2 with cgroup.kill here: the process-group fallback cannot pass these tests';
    if (process.env.CI === 'true') throw new Error(why);
    console.warn(`skipping: ${why}`);
  }
});
afterAll(() => {
  for (const pid of started) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone, as it should be
    }
  }
  rmSync(root, { recursive: true, force: true });
});

/** A live process (zombies left to a non-reaping PID 1 do not count). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

const tag = () => `${38 + Math.floor(Math.random() * 1000)}.${process.pid % 1000}${Math.floor(Math.random() * 1000)}`;

/** Bash that starts five hostile processes, each writing its pid to $WORK/pids, then `tail`. */
function hostile(t: string, tail: string): string {
  return [
    `env -i /bin/sleep ${t}1 & echo $! >> "$WORK/pids"`,
    `setsid sleep ${t}2 & echo $! >> "$WORK/pids"`,
    // double fork: the subshell exits at once, its sleep is re-parented away from the step
    `( sleep ${t}3 & echo $! >> "$WORK/pids" ) &`,
    `bash -c "trap '' TERM; exec sleep ${t}4" & echo $! >> "$WORK/pids"`,
    `setsid bash -c 'trap "" TERM; env -i /bin/sleep ${t}5 & echo $! >> "$WORK/pids"; wait' &`,
    `while [ "$(wc -l < "$WORK/pids")" -lt 5 ]; do sleep 0.01; done`,
    tail,
  ].join('\n');
}

interface Case {
  work: string;
  file: string;
  stateDir: string;
  env: NodeJS.ProcessEnv;
}

function setup(name: string, steps: string): Case {
  const work = mkdtempSync(join(root, `${name}-`));
  writeFileSync(join(work, 'pids'), '');
  const file = join(work, 'runbook.yaml');
  writeFileSync(file, `runbook: proc-${name}\nphases:\n  - id: main\n    steps:\n${steps}`);
  return { work, file, stateDir: join(work, 'state'), env: { WORK: work } };
}

function pidsOf(c: Case, name = 'pids'): number[] {
  const pids = readFileSync(join(c.work, name), 'utf8').trim().split('\n').filter(Boolean).map(Number);
  started.push(...pids);
  return pids;
}

/** A shell step in YAML, the script as a block; `extra`: step fields, `shell`: more shell fields (lines). */
function step(id: string, script: string, opts: { extra?: string; shell?: string } = {}): string {
  const shell = opts.shell ? `          ${opts.shell}\n` : '';
  return `      - id: ${id}\n${opts.extra ?? ''}        shell:\n${shell}          run: |\n${script.split('\n').map((l) => `            ${l}`).join('\n')}\n`;
}

const finished = (events: RunEvent[], id: string) => events.find((e) => e.type === 'step.finished' && e.step === id) as Extract<RunEvent, { type: 'step.finished' }> | undefined;

describe.runIf(trackingRoot() !== undefined)('processes a step starts', () => {
  it("none survives the step's end (a step that sets its own RUNBOOK_RUN_ID too)", async () => {
    const t = tag();
    // The step's env sets RUNBOOK_RUN_ID (what the old /proc environ detection looked for).
    const c = setup('end', step('spawn', hostile(t, 'echo spawned'), { shell: 'env: { RUNBOOK_RUN_ID: x }' }) + step('after', 'true'));
    const p = spawnCli(['run', c.file, '--json', '--state-dir', c.stateDir], { env: c.env, timeoutMs: 30_000 });
    await p.waitForEvent((e) => e.type === 'step.finished' && e.step === 'spawn', 20_000);
    const pids = pidsOf(c);
    expect(pids).toHaveLength(5);
    // Killed before step.finished was emitted: nothing is alive now.
    expect(pids.filter(alive)).toEqual([]);
    const r = await p.done;
    expect(r.code, r.stderr).toBe(0);
    expect(finished(r.events, 'spawn')).toMatchObject({ status: 'succeeded' });
    const note = r.events.find((e) => e.type === 'step.output' && e.step === 'spawn' && e.stream === 'info');
    expect(note).toMatchObject({ text: expect.stringContaining("still running at the step's end") });
  }, 40_000);

  it('none survives its timeout', async () => {
    const t = tag();
    const c = setup('timeout', step('spawn', hostile(t, `sleep ${t}9`), { extra: '        timeout: 1500ms\n' }));
    const r = await runCli(['run', c.file, '--json', '--state-dir', c.stateDir], { env: c.env });
    expect(r.code, r.stderr).toBe(1);
    expect(finished(r.events, 'spawn')).toMatchObject({ status: 'timed_out' });
    const pids = pidsOf(c);
    expect(pids).toHaveLength(5);
    expect(pids.filter(alive)).toEqual([]);
  }, 40_000);

  it('none survives an abort (SIGTERM to the CLI)', async () => {
    const t = tag();
    const c = setup('abort', step('spawn', hostile(t, `echo ready; sleep ${t}9`)));
    const p = spawnCli(['run', c.file, '--json', '--state-dir', c.stateDir], { env: c.env, timeoutMs: 30_000 });
    await p.waitForEvent((e) => e.type === 'step.output' && e.step === 'spawn' && e.text.includes('ready'), 20_000);
    const pids = pidsOf(c);
    expect(pids.filter(alive)).toHaveLength(5);
    p.child.kill('SIGTERM');
    const r = await p.done;
    expect(r.code, r.stderr).toBe(130);
    expect(finished(r.events, 'spawn')).toMatchObject({ status: 'cancelled' });
    expect(pids.filter(alive)).toEqual([]);
  }, 40_000);

  it('none survives a kill -9 of the interpreter and a resume; the in-flight message lists them', async () => {
    const t = tag();
    const c = setup('crash', step('spawn', hostile(t, `echo ready; sleep ${t}9`)));
    const p = spawnCli(['run', c.file, '--json', '--state-dir', c.stateDir], { env: c.env, timeoutMs: 30_000 });
    const first = await p.waitForEvent((e) => e.type === 'run.started');
    await p.waitForEvent((e) => e.type === 'step.output' && e.step === 'spawn' && e.text.includes('ready'), 20_000);
    const pids = pidsOf(c);
    p.child.kill('SIGKILL');
    await p.done;
    // They outlive the interpreter (nothing supervises them any more) …
    expect(pids.filter(alive)).toHaveLength(5);
    // … a resume without a decision names them and kills nothing …
    const asked = await runCli(['resume', first.run, '--json', '--state-dir', c.stateDir], { env: c.env });
    expect(asked.code).toBe(2);
    expect(asked.stderr).toContain('still running from the dead process (resume kills them)');
    for (const n of [1, 2, 3, 4, 5]) expect(asked.stderr).toContain(`sleep ${t}${n}`);
    expect(pids.filter(alive)).toHaveLength(5);
    // … and the resume kills every one of them before anything runs again.
    const r = await runCli(['resume', first.run, '--skip-inflight', '--json', '--state-dir', c.stateDir], { env: c.env });
    expect(r.code, r.stderr).toBe(0);
    expect(pids.filter(alive)).toEqual([]);
    const warning = r.events.find((e) => e.type === 'warning' && e.code === 'ORPHANS_KILLED') as { message: string } | undefined;
    for (const pid of pids) expect(warning?.message).toContain(`${pid} (spawn:`);
    // The run's cgroup folder is gone once it ended.
    expect(await eventually(() => !readdirSafe(`${trackingRoot()}/runs`).includes(encodeURIComponent(first.run)))).toBe(true);
  }, 60_000);

  it('detach: true leaves exactly its service running, and resume leaves it alone', async () => {
    const t = tag();
    const service = [
      `setsid nohup sleep ${t}7 > /dev/null 2>&1 & echo $! > "$WORK/service"`,
      `echo started`,
    ].join('\n');
    const c = setup(
      'detach',
      step('start', service, { shell: 'detach: true' }) +
        step('hang', `sleep ${t}8 & echo $! > "$WORK/hang"; echo ready; wait`),
    );
    const p = spawnCli(['run', c.file, '--json', '--state-dir', c.stateDir], { env: c.env, timeoutMs: 30_000 });
    const first = await p.waitForEvent((e) => e.type === 'run.started');
    const done = (await p.waitForEvent((e) => e.type === 'step.finished' && e.step === 'start', 20_000)) as Extract<RunEvent, { type: 'step.finished' }>;
    const [svc] = pidsOf(c, 'service');
    expect(done).toMatchObject({ status: 'succeeded', detached: [svc] });
    await p.waitForEvent((e) => e.type === 'step.output' && e.step === 'hang' && e.text.includes('ready'), 20_000);
    const [hang] = pidsOf(c, 'hang');
    p.child.kill('SIGKILL');
    await p.done;
    expect(alive(svc)).toBe(true);
    expect(alive(hang)).toBe(true);
    const r = await runCli(['resume', first.run, '--skip-inflight', '--json', '--state-dir', c.stateDir], { env: c.env });
    expect(r.code, r.stderr).toBe(0);
    expect(alive(hang)).toBe(false);
    expect(alive(svc)).toBe(true);
    const warning = r.events.find((e) => e.type === 'warning' && e.code === 'ORPHANS_KILLED') as { message: string } | undefined;
    expect(warning?.message).toContain(`${hang} (hang:`);
    expect(warning?.message).not.toContain(`${svc} `);
    process.kill(svc, 'SIGKILL');
    expect(await eventually(() => !alive(svc))).toBe(true);
  }, 60_000);
});

function readdirSafe(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}
