/** `runbook validate <file…>`: every error of every file; exit 0 or 2. */
import { loadRunbook, allDiagnostics } from '../dsl/validate.js';
import { isError } from '../dsl/errors.js';
import { printDiagnostics } from './output.js';

export function validateCommand(files: string[], opts: { json?: boolean }): number {
  const results = files.map((file) => {
    const loaded = loadRunbook(file);
    const diagnostics = allDiagnostics(loaded);
    const errors = diagnostics.filter(isError);
    const steps = loaded.model ? loaded.model.steps.size : 0;
    const phases = loaded.model ? loaded.model.phases.length : 0;
    return { file, valid: errors.length === 0, runbook: loaded.model?.id, phases, steps, errors, warnings: diagnostics.filter((d) => !isError(d)) };
  });
  const bad = results.filter((r) => !r.valid);
  if (opts.json) {
    process.stdout.write(JSON.stringify({ valid: bad.length === 0, files: results }, null, 2) + '\n');
  } else {
    printDiagnostics(results.flatMap((r) => [...r.errors, ...r.warnings]));
    for (const r of results) {
      if (r.valid) process.stdout.write(`✓ ${r.file}: valid (runbook '${r.runbook}', ${r.phases} phase${r.phases === 1 ? '' : 's'}, ${r.steps} step${r.steps === 1 ? '' : 's'})\n`);
    }
    if (bad.length) {
      const n = bad.reduce((a, r) => a + r.errors.length, 0);
      process.stderr.write(`✗ ${n} error${n === 1 ? '' : 's'} in ${bad.length} of ${results.length} file${results.length === 1 ? '' : 's'}\n`);
    }
  }
  return bad.length ? 2 : 0;
}
