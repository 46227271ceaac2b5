import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { acquireLock, GARBAGE_STALE_MS, LockHeldError, lockPath, readLock, type LockInfo } from '../../src/interpreter/lock.js';
import { buildModules } from '../helpers/transpile.js';

const root = mkdtempSync(join(tmpdir(), 'lock-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});
let n = 0;
const freshStateDir = () => join(root, `state-${n++}`);

/** The pid of a process that has exited (and been reaped), so nothing answers to it. */
function deadPid(): number {
  const { pid } = spawnSync('true');
  return pid!;
}

function writeLockFile(stateDir: string, name: string, content: string): string {
  const path = lockPath(stateDir, name);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
  return path;
}

function heldError(fn: () => unknown): LockHeldError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(LockHeldError);
    return error as LockHeldError;
  }
  throw new Error('expected LockHeldError');
}

describe('run lock', () => {
  it('is exclusive, and the second taker learns who holds it', () => {
    const stateDir = freshStateDir();
    const lock = acquireLock(stateDir, 'trading-db', { run: 'run-a', runbook: 'failover' });
    expect(lock.path).toBe(join(stateDir, 'locks', 'trading-db.lock'));
    const holder: LockInfo = { pid: process.pid, host: hostname(), user: userInfo().username, started_at: lock.holder.started_at, run: 'run-a', runbook: 'failover' };
    expect(lock.holder).toEqual(holder);
    expect(readLock(stateDir, 'trading-db')).toEqual(holder);
    expect(JSON.parse(readFileSync(lock.path, 'utf8'))).toEqual(holder);

    const error = heldError(() => acquireLock(stateDir, 'trading-db', { run: 'run-b', runbook: 'failover' }));
    expect(error.holder).toEqual(holder);
    expect(error.code).toBe('LOCK_HELD');
    expect(error.message).toBe(
      `lock 'trading-db' is held by run run-a (pid ${process.pid} on ${hostname()}, user ${holder.user}, since ${holder.started_at})`,
    );
    // Other names are independent.
    acquireLock(stateDir, 'other-db', { run: 'run-b', runbook: 'failover' }).release();

    lock.release();
    expect(existsSync(lock.path)).toBe(false);
    expect(readLock(stateDir, 'trading-db')).toBeNull();
    lock.release();
    acquireLock(stateDir, 'trading-db', { run: 'run-c', runbook: 'failover' }).release();
    // No temp or stale files are left behind.
    expect(readdirSync(join(stateDir, 'locks'))).toEqual([]);
  });

  it('reclaims a lock left by a dead process on this host', () => {
    const stateDir = freshStateDir();
    const dead: LockInfo = { pid: deadPid(), host: hostname(), user: 'bob', started_at: '2025-01-01T00:00:00.000Z', run: 'crashed', runbook: 'failover' };
    writeLockFile(stateDir, 'db', JSON.stringify(dead));
    const lock = acquireLock(stateDir, 'db', { run: 'run-new', runbook: 'failover' });
    expect(lock.holder).toMatchObject({ pid: process.pid, run: 'run-new' });
    expect(readLock(stateDir, 'db')).toEqual(lock.holder);
    lock.release();
    expect(readdirSync(join(stateDir, 'locks'))).toEqual([]);
  });

  it('never reclaims a lock of another host (its pid cannot be checked)', () => {
    const stateDir = freshStateDir();
    const remote: LockInfo = { pid: deadPid(), host: 'other-host.example', user: 'bob', started_at: '2025-01-01T00:00:00.000Z', run: 'far', runbook: 'failover' };
    writeLockFile(stateDir, 'db', JSON.stringify(remote));
    const error = heldError(() => acquireLock(stateDir, 'db', { run: 'run-new', runbook: 'failover' }));
    expect(error.message).toBe(`lock 'db' is held by run far (pid ${remote.pid} on other-host.example, user bob, since 2025-01-01T00:00:00.000Z)`);
  });

  it('treats an unreadable lock file as held while fresh, and as stale once old', () => {
    const stateDir = freshStateDir();
    const path = writeLockFile(stateDir, 'db', '{"pid": 12');
    const error = heldError(() => acquireLock(stateDir, 'db', { run: 'run-new', runbook: 'failover' }));
    expect(error.message).toMatch(new RegExp(`^lock 'db' is held: ${path} is unreadable \\(written .*; treated as stale after 5 s\\)$`));
    expect(readLock(stateDir, 'db')).toBeNull();
    const old = (Date.now() - GARBAGE_STALE_MS - 1000) / 1000;
    utimesSync(path, old, old);
    const lock = acquireLock(stateDir, 'db', { run: 'run-new', runbook: 'failover' });
    expect(readLock(stateDir, 'db')).toEqual(lock.holder);
    lock.release();
  });

  it('release leaves a lock that is no longer ours', () => {
    const stateDir = freshStateDir();
    const lock = acquireLock(stateDir, 'db', { run: 'run-a', runbook: 'failover' });
    // Someone replaced it (e.g. an operator deleted ours and another run took it).
    rmSync(lock.path);
    const theirs = acquireLock(stateDir, 'db', { run: 'run-b', runbook: 'failover' });
    lock.release();
    expect(readLock(stateDir, 'db')).toEqual(theirs.holder);
    theirs.release();
    expect(readLock(stateDir, 'db')).toBeNull();
  });

  it('lets exactly one of two processes reclaiming the same stale lock win', async () => {
    const modules = join(root, 'modules');
    buildModules(modules, ['dsl/errors.ts', 'interpreter/lock.ts']);
    for (let round = 0; round < 3; round++) {
      const stateDir = freshStateDir();
      writeLockFile(stateDir, 'db', JSON.stringify({ pid: deadPid(), host: hostname(), user: 'x', started_at: 'then', run: 'crashed', runbook: 'rb' }));
      // Both judge the lock stale at the same instant; their renames are delayed (a real slow disk or a
      // descheduled process) so the late one reaches it after the early one has already put its own lock there.
      const early = startRacer(modules, stateDir, 200);
      const late = startRacer(modules, stateDir, 600);
      await Promise.all([early.line(), late.line()]);
      const at = Date.now() + 150;
      for (const r of [early, late]) r.child.stdin!.write(`${at}\n`);
      const [earlyOutcome, lateOutcome] = await Promise.all([early.line(), late.line()]);
      expect(earlyOutcome).toBe(`won ${early.child.pid} renames=1`);
      // The late one moved the early one's fresh lock aside, saw it was not the stale file, and put it back.
      expect(lateOutcome).toBe(`held ${early.child.pid} renames=1`);
      expect(readLock(stateDir, 'db')?.pid).toBe(early.child.pid);
      for (const r of [early, late]) r.child.stdin!.end();
      await Promise.all([early, late].map((r) => new Promise((res) => (r.child.exitCode !== null ? res(null) : r.child.on('exit', res)))));
      // The winner released its lock on the way out, and nothing else is left.
      expect(readdirSync(join(stateDir, 'locks'))).toEqual([]);
    }
  });
});

/** A child process that acquires the lock at the instant it is sent; it holds it until its stdin closes. */
function startRacer(modules: string, stateDir: string, renameDelayMs: number) {
  const child = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import fs from 'node:fs';
       import { syncBuiltinESMExports } from 'node:module';
       import { createInterface } from 'node:readline';
       // Slow down rename (only) so the interleaving under test happens every time.
       const rename = fs.renameSync;
       let renames = 0;
       fs.renameSync = (...args) => {
         renames++;
         Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ${renameDelayMs});
         return rename(...args);
       };
       syncBuiltinESMExports();
       const { acquireLock, LockHeldError } = await import(${JSON.stringify(join(modules, 'interpreter/lock.js'))});
       const lines = createInterface({ input: process.stdin });
       process.stdout.write('ready\\n');
       let lock;
       lines.on('line', (at) => {
         while (Date.now() < Number(at));
         try {
           lock = acquireLock(${JSON.stringify(stateDir)}, 'db', { run: 'racer-' + process.pid, runbook: 'rb' });
           process.stdout.write('won ' + process.pid + ' renames=' + renames + '\\n');
         } catch (e) {
           process.stdout.write((e instanceof LockHeldError ? 'held ' + e.holder.pid : 'error ' + e.message) + ' renames=' + renames + '\\n');
         }
       });
       lines.on('close', () => lock?.release());`,
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  children.push(child);
  const pending: string[] = [];
  const waiters: ((line: string) => void)[] = [];
  let buffer = '';
  child.stdout!.on('data', (d: Buffer) => {
    buffer += d.toString();
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      const waiter = waiters.shift();
      if (waiter) waiter(line);
      else pending.push(line);
    }
  });
  return {
    child,
    line: () => (pending.length > 0 ? Promise.resolve(pending.shift()!) : new Promise<string>((resolve) => waiters.push(resolve))),
  };
}

