// Golden valid runbooks: every runbook in test/runbooks/valid/, runbooks/ and examples/ (recursively)
// validates with zero diagnostics. runbooks/ and examples/ may be empty; any invalid file there fails.
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { allDiagnostics, loadRunbook } from '../../src/dsl/validate.js';
import { yamlFiles } from '../helpers/files.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const FOLDERS = ['test/runbooks/valid', 'runbooks', 'examples'];
// Compose files may sit next to the runbooks of a sandbox, and Ansible inventories in an `inventory/`
// folder beside them (runbooks/inventory/); they are not runbooks.
const NOT_RUNBOOK = /^(docker-)?compose(\.[\w-]+)?\.ya?ml$/;
const INVENTORY = /(^|\/)inventory\//;

const files = FOLDERS.flatMap((f) => yamlFiles(join(ROOT, f)))
  .filter((f) => !NOT_RUNBOOK.test(basename(f)) && !INVENTORY.test(relative(ROOT, f)))
  .map((f) => relative(ROOT, f))
  .sort();

describe('golden valid runbooks', () => {
  it('has at least 12 of its own', () => {
    expect(files.filter((f) => f.startsWith('test/runbooks/valid/')).length).toBeGreaterThanOrEqual(12);
  });

  it.each(files)('%s', (file) => {
    const loaded = loadRunbook(join(ROOT, file));
    const diags = allDiagnostics(loaded).map((d) => `${relative(ROOT, d.file ?? '')}:${d.line}:${d.col}: ${d.message} [${d.code}]`);
    expect(diags).toEqual([]);
    expect(loaded.model?.phases.length).toBeGreaterThan(0);
  });

  it('covers every step type and control type among its own files', () => {
    const types = new Set<string>();
    for (const f of files.filter((f) => f.startsWith('test/runbooks/valid/'))) {
      const m = loadRunbook(join(ROOT, f)).model!;
      for (const s of m.steps.values()) {
        types.add(s.type);
        if (s.rollback) types.add(s.rollback.type);
      }
    }
    expect([...types].sort()).toEqual(['approve', 'assert', 'docker', 'http', 'log', 'notify', 'runbook', 's3', 'shell', 'sql', 'wait']);
  });
});
