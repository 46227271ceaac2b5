/** `runbook validate <file…>`: every error of every file; exit 0 or 2. Formats: text, json, github, sarif. */
import { readFileSync } from 'node:fs';
import { loadRunbook, allDiagnostics } from '../dsl/validate.js';
import { isError } from '../dsl/errors.js';
import { printDiagnostics, sourcesOf, UsageError } from './output.js';
import { githubAnnotations, sarifLog } from './validate-formats.js';

export const VALIDATE_FORMATS = ['text', 'json', 'github', 'sarif'] as const;

export function validateCommand(files: string[], opts: { json?: boolean; format?: string }): number {
  const format = opts.json ? 'json' : (opts.format ?? 'text');
  if (!(VALIDATE_FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format ${format}: one of ${VALIDATE_FORMATS.join(', ')}`);
  const loadedAll: ReturnType<typeof loadRunbook>[] = [];
  const results = files.map((file) => {
    const loaded = loadRunbook(file);
    loadedAll.push(loaded);
    const diagnostics = allDiagnostics(loaded);
    const errors = diagnostics.filter(isError);
    const steps = loaded.model ? loaded.model.steps.size : 0;
    const phases = loaded.model ? loaded.model.phases.length : 0;
    return { file, valid: errors.length === 0, runbook: loaded.model?.id, phases, steps, errors, warnings: diagnostics.filter((d) => !isError(d)) };
  });
  const bad = results.filter((r) => !r.valid);
  if (format === 'json') {
    process.stdout.write(JSON.stringify({ valid: bad.length === 0, files: results }, null, 2) + '\n');
  } else if (format === 'github') {
    process.stdout.write(githubAnnotations(results));
  } else if (format === 'sarif') {
    process.stdout.write(JSON.stringify(sarifLog(results, version()), null, 2) + '\n');
  } else {
    printDiagnostics(results.flatMap((r) => [...r.errors, ...r.warnings]), undefined, sourcesOf(loadedAll));
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

function version(): string {
  return (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}
