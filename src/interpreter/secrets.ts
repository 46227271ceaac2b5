/**
 * Secrets are read once at run start from the environment or a file. A missing required secret
 * stops the run before anything executes; its declaration is named in the error.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Diagnostic } from '../dsl/errors.js';
import type { RunbookModel } from '../dsl/model.js';
import type { LoadedRunbook } from '../dsl/validate.js';

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

/**
 * The secrets of a runbook and of every sub-runbook it names by a literal file, read at run start:
 * each runbook sees the secrets it declares (a child's `secrets.x` is the child's own declaration),
 * the masker learns them all before anything runs, and a missing required secret of a child stops
 * the run before anything executes, like one of the top level.
 */
export function readSecretsTree(
  loaded: LoadedRunbook & { model: RunbookModel },
  env: NodeJS.ProcessEnv,
): { values: Record<string, string>; byFile: Map<string, Record<string, string>>; diagnostics: Diagnostic[] } {
  const top = readSecrets(loaded.model, env);
  const byFile = new Map<string, Record<string, string>>();
  const diagnostics = [...top.diagnostics];
  const walk = (node: LoadedRunbook) => {
    for (const [file, child] of node.children) {
      if (!child.model || byFile.has(file)) continue;
      const r = readSecrets(child.model, env);
      byFile.set(file, r.values);
      diagnostics.push(...r.diagnostics);
      walk(child);
    }
  };
  walk(loaded);
  return { values: top.values, byFile, diagnostics };
}
