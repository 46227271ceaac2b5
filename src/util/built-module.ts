/**
 * The compiled file of a module that must run as its own entry (a worker thread's): beside the
 * calling module when that is compiled (dist/src, or the bundle's rewritten location), else — when the
 * caller runs from the sources (vitest) — the same path under dist/. Undefined when neither exists.
 */
import { existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root, from this module's own place (src/util or dist/src/util). */
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export function builtModule(callerUrl: string, file: string): string | undefined {
  const here = dirname(fileURLToPath(callerUrl));
  const beside = join(here, file);
  if (existsSync(beside)) return beside;
  const built = join(root, 'dist', relative(root, here), file);
  return existsSync(built) ? built : undefined;
}
