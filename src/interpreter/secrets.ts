/**
 * Secrets are read once at run start from the environment or a file. A missing required secret
 * stops the run before anything executes; its declaration is named in the error. A secret shorter
 * than MIN_SECRET_LENGTH also stops it: masking `e` or `ok` everywhere would mangle every line it
 * prints (and once did mangle the journal), while a real credential is never that short.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Diagnostic } from '../dsl/errors.js';
import type { RunbookModel } from '../dsl/model.js';
import type { LoadedRunbook } from '../dsl/validate.js';

export const MIN_SECRET_LENGTH = 4;

export function readSecrets(model: RunbookModel, env: NodeJS.ProcessEnv): { values: Record<string, string>; diagnostics: Diagnostic[] } {
  const values: Record<string, string> = {};
  const diagnostics: Diagnostic[] = [];
  for (const [name, s] of Object.entries(model.secrets)) {
    const at = model.src.pos(['secrets', name]);
    let source = '';
    if (s.env !== undefined) {
      source = `environment variable ${s.env}`;
      const v = env[s.env];
      if (v !== undefined && v !== '') values[name] = v;
      else if (s.required) {
        const why = v === undefined ? 'is not set' : 'is empty';
        diagnostics.push({ code: 'SECRET_MISSING', message: `secret '${name}': ${source} ${why}`, ...at });
      }
    } else if (s.file !== undefined) {
      const path = resolve(model.baseDir, s.file);
      source = `file ${path}`;
      try {
        const v = readFileSync(path, 'utf8').replace(/\r?\n$/, '');
        if (v !== '') values[name] = v;
        else if (s.required) diagnostics.push({ code: 'SECRET_MISSING', message: `secret '${name}': ${source} is empty`, ...at });
      } catch (e) {
        if (s.required) diagnostics.push({ code: 'SECRET_MISSING', message: `secret '${name}': cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? e})`, ...at });
      }
    }
    const v = values[name];
    if (v !== undefined && v.length < MIN_SECRET_LENGTH) {
      diagnostics.push({
        code: 'SECRET_SHORT',
        message: `secret '${name}': the value of ${source} is ${v.length} character${v.length === 1 ? '' : 's'} long; secrets need at least ${MIN_SECRET_LENGTH} (a shorter one cannot be masked without mangling the output)`,
        ...at,
      });
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
