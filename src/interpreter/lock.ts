/**
 * The run lock (spec §6): an exclusive file `<stateDir>/locks/<name>.lock` holding who runs, for the
 * run's whole life. A lock left by a dead process on this host is stale and reclaimed.
 *
 * The file is written to a temp file, fsync'd, then `link()`ed into place: link fails with EEXIST
 * like `open(wx)`, but the lock appears with its full content at once, so nobody ever reads a
 * half-written lock and mistakes a live run for garbage. (With `wx` + write there is a window where
 * the file is empty.)
 */
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { RunbookError } from '../dsl/errors.js';

export interface LockInfo {
  pid: number;
  host: string;
  user: string;
  /** ISO time the lock was taken. */
  started_at: string;
  run: string;
  runbook: string;
}

export interface Lock {
  path: string;
  holder: LockInfo;
  /** Remove the lock file if it is still ours (idempotent). */
  release(): void;
}

/** A lock file that cannot be parsed is treated as stale once it is this old (nobody writes it slowly: it is linked whole). */
export const GARBAGE_STALE_MS = 5000;
const MAX_ATTEMPTS = 5;

/** Another live run holds the lock (exit code 4). */
export class LockHeldError extends RunbookError {
  constructor(
    readonly lockName: string,
    readonly holder: LockInfo,
    readonly path: string,
    detail?: string,
  ) {
    super({
      code: 'LOCK_HELD',
      message:
        detail ??
        `lock '${lockName}' is held by run ${holder.run} (pid ${holder.pid} on ${holder.host}, user ${holder.user}, since ${holder.started_at})`,
      file: path,
    });
    this.name = 'LockHeldError';
  }
}

export function lockPath(stateDir: string, name: string): string {
  return join(stateDir, 'locks', `${name}.lock`);
}

/** The current holder, or null when there is no lock file or it cannot be parsed. */
export function readLock(stateDir: string, name: string): LockInfo | null {
  const read = readLockFile(lockPath(stateDir, name));
  return read.kind === 'info' ? read.info : null;
}

/** Take the lock or throw `LockHeldError`; a stale lock (dead pid on this host, or old garbage) is reclaimed. */
export function acquireLock(stateDir: string, name: string, info: { run: string; runbook: string }): Lock {
  const path = lockPath(stateDir, name);
  mkdirSync(join(stateDir, 'locks'), { recursive: true });
  const holder: LockInfo = { pid: process.pid, host: hostname(), user: currentUser(), started_at: new Date().toISOString(), ...info };
  const content = `${JSON.stringify(holder)}\n`;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const ino = tryCreate(path, content);
    if (ino !== undefined) return makeLock(path, holder, { ino, text: content });
    const current = readLockFile(path);
    if (current.kind === 'missing') continue;
    if (current.kind === 'info' && !isStale(current.info)) throw new LockHeldError(name, current.info, path);
    if (current.kind === 'garbage' && Date.now() - current.mtimeMs < GARBAGE_STALE_MS) {
      throw new LockHeldError(
        name,
        { pid: 0, host: 'unknown', user: 'unknown', started_at: new Date(current.mtimeMs).toISOString(), run: 'unknown', runbook: 'unknown' },
        path,
        `lock '${name}' is held: ${path} is unreadable (written ${new Date(current.mtimeMs).toISOString()}; treated as stale after ${GARBAGE_STALE_MS / 1000} s)`,
      );
    }
    moveStaleAway(path, current);
  }
  const last = readLockFile(path);
  if (last.kind === 'info') throw new LockHeldError(name, last.info, path);
  throw new Error(`could not take lock '${name}' at ${path}: it kept changing under us`);
}

/** Create the lock atomically with its content; the new inode, or undefined when a lock exists. */
function tryCreate(path: string, content: string): number | undefined {
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fd = openSync(temp, 'wx');
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(temp, path);
    return statSync(path).ino;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw error;
  } finally {
    unlinkSync(temp);
  }
}

/**
 * Move the stale lock (the file we judged) out of the way. rename is atomic, but between our
 * judgement and the rename another reclaimer may already have replaced it with its own live lock:
 * then we took the wrong file and link it back. Two reclaimers therefore never both win. (Three at
 * once could still collide in the microseconds between our rename and link-back; runs of one lock
 * starting at the same instant after a crash are not a case worth a lock server.)
 * "Same file" = same inode AND same bytes: the filesystem reuses a freed inode number at once, so
 * the other reclaimer's new lock often has the stale one's inode.
 */
function moveStaleAway(path: string, judged: { ino: number; text: string }): void {
  const aside = `${path}.stale.${process.pid}.${randomBytes(4).toString('hex')}`;
  try {
    renameSync(path, aside);
  } catch (error) {
    // Someone else moved it already: just try to create again.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (statSync(aside).ino !== judged.ino || readFileSync(aside, 'utf8') !== judged.text) {
    try {
      linkSync(aside, path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  unlinkSync(aside);
}

function makeLock(path: string, holder: LockInfo, ours: { ino: number; text: string }): Lock {
  let released = false;
  return {
    path,
    holder,
    release() {
      if (released) return;
      released = true;
      const current = readLockFile(path);
      // Ours = same inode and same bytes (someone may have replaced it, see moveStaleAway).
      if (current.kind === 'info' && current.ino === ours.ino && current.text === ours.text) {
        try {
          unlinkSync(path);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        }
      }
    },
  };
}

type LockFile =
  | { kind: 'missing' }
  | { kind: 'info'; info: LockInfo; ino: number; text: string }
  | { kind: 'garbage'; mtimeMs: number; ino: number; text: string };

function readLockFile(path: string): LockFile {
  let text: string;
  let stat;
  try {
    // stat before read: if the file is replaced in between, inode and bytes disagree and moveStaleAway will not take it for stale.
    stat = statSync(path);
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    throw error;
  }
  try {
    const info = JSON.parse(text) as LockInfo;
    if (Number.isInteger(info.pid) && info.pid > 0 && typeof info.host === 'string' && typeof info.run === 'string') return { kind: 'info', info, ino: stat.ino, text };
  } catch {
    // fall through: garbage
  }
  return { kind: 'garbage', mtimeMs: stat.mtimeMs, ino: stat.ino, text };
}

/** Stale = taken on this host by a process that no longer exists. Other hosts cannot be checked: never stale. */
function isStale(info: LockInfo): boolean {
  if (info.host !== hostname()) return false;
  try {
    process.kill(info.pid, 0);
    return false;
  } catch (error) {
    // EPERM: alive, owned by another user.
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    // No passwd entry (containers running as an arbitrary uid).
    return process.env.USER ?? String(process.getuid?.() ?? 'unknown');
  }
}
