/**
 * The local transport on its own: the cgroup v2 mount found in mountinfo, a command's processes all in
 * its cgroup (a double fork too), leftovers stopped at its end and named, `detach` leaving exactly the
 * service (moved out of the run's groups), and a missing or non-executable program reported as a spawn
 * error although a wrapper runs first.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { localTransport, SpawnError } from '../../src/transport/local/index.js';
import { cgroupV2Mount, trackingRoot } from '../../src/transport/local/track.js';
import type { ProcessRequest } from '../../src/transport/types.js';
import { eventually } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'runbook-local-'));
const toKill: number[] = [];
afterAll(() => {
  for (const pid of toKill) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

function request(script: string, more: Partial<ProcessRequest> = {}): ProcessRequest & { out: string } {
  const req = {
    file: 'bash',
    args: ['--norc', '-eo', 'pipefail', '-c', script],
    cwd: dir,
    env: { PATH: process.env.PATH },
    signal: new AbortController().signal,
    out: '',
    onOutput(_s: string, t: string) {
      req.out += t;
    },
    runId: `local-test-${process.pid}`,
    step: 'a[1].b',
    ...more,
  };
  return req;
}

describe('cgroupV2Mount', () => {
  it('reads the cgroup2 mount point, unescaping octal', () => {
    const info = [
      '31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
      '35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
      '41 31 0:38 / /sys/fs/cgroup/uni\\040fied rw,relatime shared:9 - cgroup2 cgroup2 rw',
    ].join('\n');
    expect(cgroupV2Mount(info)).toBe('/sys/fs/cgroup/uni fied');
    expect(cgroupV2Mount('31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw')).toBeUndefined();
  });
});

describe('program lookup', () => {
  it('reports a missing or non-executable program as a spawn error', async () => {
    await expect(localTransport.run(request('', { file: 'no-such-program-xyz', args: [] }))).rejects.toMatchObject({ errno: 'ENOENT' });
    const script = join(dir, 'not-executable.sh');
    writeFileSync(script, '#!/bin/sh\necho hi\n');
    chmodSync(script, 0o644);
    const denied = await localTransport.run(request('', { file: './not-executable.sh', args: [] })).catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(SpawnError);
    expect(denied).toMatchObject({ errno: 'EACCES' });
  });
});

describe.runIf(trackingRoot() !== undefined)('local transport with cgroups', () => {
  it('holds a double-forked grandchild in the command cgroup, and stops it at the end, naming it', async () => {
    const script = `cat /proc/self/cgroup | grep '^0::'; ( setsid sleep 61.5 & echo $! > "${dir}/gc" ) ; sleep 0.2`;
    const o = await localTransport.run(request(script));
    const gc = Number(readFileSync(join(dir, 'gc'), 'utf8'));
    toKill.push(gc);
    expect(o.exitCode).toBe(0);
    // The step's cgroup: runs/<run>/<step address encoded>@<n>.
    expect(o.stdout).toMatch(new RegExp(`^0::/runbook/runs/local-test-${process.pid}/a%5B1%5D\\.b@\\d+\\n$`));
    expect(o.leftovers).toEqual([{ pid: gc, command: 'sleep 61.5' }]);
    expect(alive(gc)).toBe(false);
    // Its cgroup folder is gone.
    const folder = join(cgroupV2Mount()!, o.stdout.trim().slice('0::'.length));
    expect(folder.startsWith(trackingRoot()!)).toBe(true);
    // Removed off the event loop, once the kernel counts the group empty.
    expect(await eventually(() => !existsSync(folder), 3000)).toBe(true);
  });

  it('detach: leaves exactly what still runs at the end, outside the run groups', async () => {
    const o = await localTransport.run(request(`setsid nohup sleep 61.6 > /dev/null 2>&1 & echo $!`, { detach: true }));
    const svc = Number(o.stdout.trim());
    toKill.push(svc);
    expect(o.detached).toEqual([svc]);
    expect(o.leftovers).toBeUndefined();
    expect(alive(svc)).toBe(true);
    expect(readFileSync(`/proc/${svc}/cgroup`, 'utf8')).toContain(`0::/runbook/detached/local-test-${process.pid}/`);
    process.kill(svc, 'SIGKILL');
  });

  it('detach does not protect a timeout or abort: everything is stopped', async () => {
    const controller = new AbortController();
    const req = request(`setsid nohup sleep 61.7 > /dev/null 2>&1 & echo $! > "${dir}/svc"; sleep 100`, { detach: true, signal: controller.signal });
    const running = localTransport.run(req);
    for (let i = 0; i < 200 && !existsSync(join(dir, 'svc')); i++) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 50));
    const svc = Number(readFileSync(join(dir, 'svc'), 'utf8'));
    toKill.push(svc);
    controller.abort();
    const o = await running;
    expect(o.cancelled).toBe(true);
    expect(o.detached).toBeUndefined();
    expect(alive(svc)).toBe(false);
  });
});
