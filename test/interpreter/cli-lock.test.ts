/**
 * The run lock through the real CLI (spec §6): a second run of the same lock exits 4 and names the
 * holder; a lock left by a process killed with SIGKILL is detected as stale and reclaimed — once the
 * dead run's own processes (orphaned shell steps) are gone.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, eventually, findProcesses, runCli, spawnCli } from '../helpers/cli.js';

let dir: string;
beforeAll(() => {
  assertBuilt();
  dir = mkdtempSync(join(tmpdir(), 'runbook-lock-'));
});
afterAll(() => {
  // The SIGKILLed run's shell step is an orphan: do not leave it behind.
  for (const pid of findProcesses('sleep 30.402')) process.kill(pid, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function write(name: string, id: string, sleep: string): string {
  const file = join(dir, name);
  writeFileSync(
    file,
    `runbook: ${id}
lock: shared-db
phases:
  - id: main
    steps:
      - id: work
        shell: { run: "sleep ${sleep}" }
`,
  );
  return file;
}

describe('run lock (CLI)', () => {
  it('a second run of the same lock exits 4 and names the holder; nothing of it runs', async () => {
    const stateDir = join(dir, 'state-held');
    const first = spawnCli(['run', write('first.yaml', 'lock-first', '30.401'), '--json', '--state-dir', stateDir], { timeoutMs: 20_000 });
    const started = await first.waitForEvent((e) => e.type === 'step.started');
    const holder = JSON.parse(readFileSync(join(stateDir, 'locks', 'shared-db.lock'), 'utf8'));
    expect(holder).toMatchObject({ pid: first.pid, host: hostname(), user: userInfo().username, run: started.run, runbook: 'lock-first' });

    // A different runbook naming the same lock.
    const second = await runCli(['run', write('second.yaml', 'lock-second', '0.01'), '--json', '--state-dir', stateDir]);
    expect(second.code).toBe(4);
    expect(second.stdout).toBe('');
    expect(second.stderr).toContain("lock 'shared-db' is held by run " + started.run);
    expect(second.stderr).toContain(`pid ${first.pid}`);
    expect(second.stderr).toContain(`on ${hostname()}`);
    expect(second.stderr).toContain(`user ${userInfo().username}`);
    expect(second.stderr).toContain(`since ${holder.started_at}`);

    first.child.kill('SIGINT');
    const r = await first.done;
    expect(r.code).toBe(130);
    // Released at the end of the run: the next run takes it.
    expect(existsSync(join(stateDir, 'locks', 'shared-db.lock'))).toBe(false);
    const third = await runCli(['run', join(dir, 'second.yaml'), '--json', '--state-dir', stateDir]);
    expect(third.code, third.stderr).toBe(0);
  }, 40_000);

  it('a lock left by a process killed with SIGKILL is reclaimed by the next run', async () => {
    const stateDir = join(dir, 'state-stale');
    const first = spawnCli(['run', write('killed.yaml', 'lock-killed', '30.402'), '--json', '--state-dir', stateDir], { timeoutMs: 20_000 });
    await first.waitForEvent((e) => e.type === 'step.started');
    expect(await eventually(() => findProcesses('sleep 30.402').length === 1)).toBe(true);
    first.child.kill('SIGKILL');
    await first.done;
    // The lock file is still there, naming a dead pid.
    const stale = JSON.parse(readFileSync(join(stateDir, 'locks', 'shared-db.lock'), 'utf8'));
    expect(stale.pid).toBe(first.pid);
    expect(await eventually(() => !existsSync(`/proc/${first.pid}`))).toBe(true);

    // While the dead run's shell step still runs (its process group survived), the lock is not
    // reclaimed: exit 4 naming the leftover process and how to proceed.
    expect(findProcesses('sleep 30.402')).toHaveLength(1);
    const blocked = await runCli(['run', write('next.yaml', 'lock-next', '0.5'), '--json', '--state-dir', stateDir]);
    expect(blocked.code).toBe(4);
    expect(blocked.stderr).toContain(`was held by run ${stale.run} (pid ${first.pid}, now dead`);
    expect(blocked.stderr).toContain('sleep 30.402');
    expect(blocked.stderr).toContain(`runbook resume ${stale.run}`);
    for (const pid of findProcesses('sleep 30.402')) process.kill(-pid, 'SIGKILL');
    expect(await eventually(() => findProcesses('sleep 30.402').length === 0)).toBe(true);

    const next = spawnCli(['run', join(dir, 'next.yaml'), '--json', '--state-dir', stateDir], { timeoutMs: 20_000 });
    await next.waitForEvent((e) => e.type === 'step.started');
    const mine = JSON.parse(readFileSync(join(stateDir, 'locks', 'shared-db.lock'), 'utf8'));
    expect(mine).toMatchObject({ pid: next.pid, runbook: 'lock-next' });
    const r = await next.done;
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(stateDir, 'locks', 'shared-db.lock'))).toBe(false);
  }, 40_000);

  it('--dry-run takes no lock (it changes nothing)', async () => {
    const stateDir = join(dir, 'state-dry');
    const first = spawnCli(['run', write('dry-holder.yaml', 'lock-dry-holder', '30.403'), '--json', '--state-dir', stateDir], { timeoutMs: 20_000 });
    await first.waitForEvent((e) => e.type === 'step.started');
    const dry = await runCli(['run', join(dir, 'second.yaml'), '--dry-run', '--json', '--state-dir', stateDir]);
    expect(dry.code, dry.stderr).toBe(0);
    first.child.kill('SIGINT');
    expect((await first.done).code).toBe(130);
  }, 40_000);
});
