/** Printing helpers shared by the commands: diagnostics with source excerpts, clean exits. */
import { readRunbookText } from '../dsl/load.js';
import { formatDiagnostic, isError, sortDiagnostics, type Diagnostic } from '../dsl/errors.js';
import { allDiagnostics, loadRunbook, type LoadedRunbook } from '../dsl/validate.js';
import type { RunbookModel } from '../dsl/model.js';
import { cliConfig, stateDirOf } from './config.js';

/**
 * Print every diagnostic as `file:line:col: message` with the source line and a caret. `known`: the
 * texts the diagnostics were found in (sourcesOf), shown as they were read rather than read again.
 */
export function printDiagnostics(diags: Diagnostic[], write: (s: string) => void = (s) => process.stderr.write(s), known?: Map<string, string>): void {
  const sources = new Map<string, string | undefined>(known);
  const sourceOf = (file?: string) => {
    if (!file) return undefined;
    if (!sources.has(file)) {
      // The same guarded read as loading: a FIFO or /dev/zero named in a diagnostic must not hang here.
      const text = readRunbookText(file);
      sources.set(file, typeof text === 'string' ? text : undefined);
    }
    return sources.get(file);
  };
  // One write for all of them: stderr on a pipe is written synchronously, one system call a write.
  const text = sortDiagnostics(diags).map((d) => formatDiagnostic(d, sourceOf(d.file)) + '\n').join('');
  if (text) write(text);
}

/** The text of each file a loaded runbook (and its sub-runbooks) was read from, by file name. */
export function sourcesOf(loaded: LoadedRunbook[]): Map<string, string> {
  const out = new Map<string, string>();
  const visit = (l: LoadedRunbook) => {
    if (l.src && !out.has(l.src.file)) {
      out.set(l.src.file, l.src.source);
      for (const c of l.children.values()) visit(c);
    }
  };
  loaded.forEach(visit);
  return out;
}

/** Load a runbook for plan/run: every diagnostic is printed; undefined when there is an error. */
export function loadOrReport(file: string): (LoadedRunbook & { model: RunbookModel }) | undefined {
  const loaded = loadRunbook(file);
  const diags = allDiagnostics(loaded);
  // NO_ROLLBACK is validate's to report, one line a step; plan shows the coverage, run does not repeat it.
  printDiagnostics(diags.filter((d) => d.code !== 'NO_ROLLBACK'), undefined, sourcesOf([loaded]));
  if (diags.some(isError) || !loaded.model) return undefined;
  return loaded as LoadedRunbook & { model: RunbookModel };
}

export { exitWith } from './exit.js';

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The state dir: --state-dir, else RUNBOOK_STATE(_DIR), else the config file's `state`, else .runbook/ (src/cli/config.ts). */
export function defaultStateDir(opt?: string): string {
  const { state, source } = cliConfig({ stateDir: opt });
  const dir = stateDirOf(state);
  if (dir === undefined) throw new UsageError(`state store '${state}' (from ${source.state}) is not a directory; this command needs a file store (file:<dir>)`);
  return dir;
}
