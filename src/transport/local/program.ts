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
  const candidates = file.includes('/')
    ? [isAbsolute(file) ? file : resolve(cwd, file)]
    : // execvp's default search path when PATH is unset.
      (path ?? '/usr/local/bin:/usr/bin:/bin').split(delimiter).map((dir) => resolve(cwd, join(dir === '' ? '.' : dir, file)));
  let denied = false;
  for (const full of candidates) {
    // No exception for the usual miss on each PATH entry: throwing costs more than the lookup.
    const st = statSync(full, { throwIfNoEntry: false });
    if (st === undefined) continue;
    // A directory or a file without x is skipped as execvp does (EACCES only if nothing else is found).
    if (st.isFile() && executable(full)) return full;
    denied = true;
  }
  const code = denied ? 'EACCES' : 'ENOENT';
  throw new ProgramError(`spawn ${file} ${code}`, code);
}

function executable(full: string): boolean {
  try {
    accessSync(full, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
