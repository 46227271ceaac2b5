/**
 * Secrets are read once at run start from the environment or a file. A missing required secret
 * stops the run before anything executes; its declaration is named in the error.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Diagnostic } from '../dsl/errors.js';
import type { RunbookModel } from '../dsl/model.js';

export function readSecrets(model: RunbookModel, env: NodeJS.ProcessEnv): { values: Record<string, string>; diagnostics: Diagnostic[] } {
  const values: Record<string, string> = {};
  const diagnostics: Diagnostic[] = [];
  for (const [name, s] of Object.entries(model.secrets)) {
    const at = model.src.pos(['secrets', name]);
    if (s.env !== undefined) {
      const v = env[s.env];
      if (v !== undefined && v !== '') values[name] = v;
      else if (s.required) diagnostics.push({ code: 'SECRET_MISSING', message: `secret '${name}': environment variable ${s.env} is not set`, ...at });
    } else if (s.file !== undefined) {
      const path = resolve(model.baseDir, s.file);
      try {
        values[name] = readFileSync(path, 'utf8').replace(/\r?\n$/, '');
      } catch (e) {
        if (s.required) diagnostics.push({ code: 'SECRET_MISSING', message: `secret '${name}': cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? e})`, ...at });
      }
    }
    if (!(name in values)) values[name] = '';
  }
  return { values, diagnostics };
}
