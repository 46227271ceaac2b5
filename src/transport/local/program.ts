/**
 * Find the program before anything is spawned. The tracked spawn starts a wrapper (`/bin/sh`) that
 * enters the step's cgroup and then execs the program, so a missing program would only show as the
 * wrapper's exit 127: look it up the way execvp does (PATH of the step's environment, relative to
 * its cwd) and fail with ENOENT/EACCES as a plain spawn would.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';

export class ProgramError extends Error {
  constructor(
    message: string,
    readonly code: 'ENOENT' | 'EACCES',
  ) {
    super(message);
  }
}

/** The absolute path the kernel would exec for `file`, or a ProgramError. */
export function resolveProgram(file: string, path: string | undefined, cwd: string): string {
  if (file.includes('/')) {
    const full = isAbsolute(file) ? file : resolve(cwd, file);
    check(full, file);
    return full;
  }
  let denied = false;
  // execvp's default search path when PATH is unset.
  for (const dir of (path ?? '/usr/local/bin:/usr/bin:/bin').split(delimiter)) {
    const full = resolve(cwd, join(dir === '' ? '.' : dir, file));
    try {
      check(full, file);
      return full;
    } catch (e) {
      if ((e as ProgramError).code === 'EACCES') denied = true;
    }
  }
  throw new ProgramError(`spawn ${file} ${denied ? 'EACCES' : 'ENOENT'}`, denied ? 'EACCES' : 'ENOENT');
}

function check(full: string, file: string): void {
  let isFile: boolean;
  try {
    isFile = statSync(full).isFile();
  } catch {
    throw new ProgramError(`spawn ${file} ENOENT`, 'ENOENT');
  }
  try {
    if (!isFile) throw new Error('not a file');
    accessSync(full, constants.X_OK);
  } catch {
    // A directory or a file without x on PATH is skipped by execvp (EACCES only if nothing else is found).
    throw new ProgramError(`spawn ${file} EACCES`, 'EACCES');
  }
}
