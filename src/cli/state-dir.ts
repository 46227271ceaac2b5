/**
 * The state dir checked before a command uses it, so that a path that is a file, a folder that
 * cannot be written or read, gives one line and exit 2 (nothing executed), never a stack trace
 * from deep inside the lock or journal code.
 */
import { accessSync, constants, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export class StateDirError extends Error {
  override readonly name = 'StateDirError';
}

/** Throws StateDirError when `dir` cannot hold runs (`write`) or be read. Missing and `read`: fine (no runs yet). */
export function checkStateDir(dir: string, mode: 'read' | 'write'): void {
  let isDir: boolean | undefined;
  try {
    isDir = statSync(dir).isDirectory();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') throw new StateDirError(`state dir ${dir}: a part of the path is a file, not a directory`);
    if (code !== 'ENOENT') throw new StateDirError(`state dir ${dir}: ${describe(e)}`);
  }
  if (isDir === false) throw new StateDirError(`state dir ${dir} is a file, not a directory (give --state-dir a directory)`);
  if (mode === 'read') {
    if (isDir) probe(() => accessSync(dir, constants.R_OK | constants.X_OK), dir, 'cannot be read');
    for (const sub of ['runs']) {
      try {
        if (!statSync(join(dir, sub)).isDirectory()) throw new StateDirError(`state dir ${dir}: ${sub} is a file, not a directory`);
      } catch (e) {
        if (e instanceof StateDirError) throw e;
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT') throw new StateDirError(`state dir ${dir}: ${sub}: ${describe(e)}`);
      }
    }
    return;
  }
  probe(() => mkdirSync(dir, { recursive: true }), dir, 'cannot be created');
  // access(W_OK) says yes to root on a read-only mount: write a probe file for the real answer.
  for (const sub of ['runs', 'locks']) probe(() => mkdirSync(join(dir, sub), { recursive: true }), join(dir, sub), 'cannot be created');
  const file = join(dir, `.write-probe-${process.pid}`);
  probe(() => writeFileSync(file, ''), dir, 'cannot be written');
  rmSync(file, { force: true });
}

function probe(f: () => void, dir: string, what: string): void {
  try {
    f();
  } catch (e) {
    throw new StateDirError(`state dir ${dir} ${what}: ${describe(e)}`);
  }
}

function describe(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const words: Record<string, string> = {
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EROFS: 'read-only file system',
    ENOTDIR: 'a part of the path is a file, not a directory',
    EEXIST: 'a file is in the way',
    ENOSPC: 'no space left on the device',
  };
  return (err.code && words[err.code]) ?? err.message;
}
