/**
 * One error shape for every problem a user can cause: a stable `code`, a message, and where it is
 * (file and 1-based line/column, plus the character offset so a caret excerpt can be drawn).
 * Loading collects these; only the CLI decides to exit.
 */
export interface Diagnostic {
  code: string;
  message: string;
  file?: string;
  /** 1-based line, 1-based column. */
  line?: number;
  col?: number;
  /** 0-based character offset into the file's source. */
  offset?: number;
  severity?: 'error' | 'warning';
}

/** An error carrying a diagnostic, thrown where collecting is not possible (e.g. at run time). */
export class RunbookError extends Error {
  readonly code: string;
  readonly diagnostic: Diagnostic;
  constructor(diagnostic: Diagnostic) {
    super(diagnostic.message);
    this.name = 'RunbookError';
    this.code = diagnostic.code;
    this.diagnostic = diagnostic;
  }
}

/** `file:line:col: message`, followed by the source line and a caret when the source is known. */
export function formatDiagnostic(d: Diagnostic, source?: string): string {
  const where = [d.file ?? '<input>', d.line, d.col].filter((p) => p !== undefined).join(':');
  const head = `${where}: ${d.severity === 'warning' ? 'warning: ' : ''}${d.message} [${d.code}]`;
  if (source === undefined || d.line === undefined) return head;
  const text = linesOf(source)[d.line - 1];
  if (text === undefined) return head;
  const gutter = `${d.line} | `;
  const caret = ' '.repeat(gutter.length + Math.max(0, (d.col ?? 1) - 1)) + '^';
  return `${head}\n${gutter}${text.replace(/\t/g, ' ')}\n${caret}`;
}

// The lines of the last source formatted: a file's diagnostics come one after another, and splitting
// a 1,000-step file again for each of a hundred warnings was a fifth of validate's time.
let lastSource: string | undefined;
let lastLines: string[] = [];
function linesOf(source: string): string[] {
  if (source !== lastSource) {
    lastSource = source;
    lastLines = source.split(/\r?\n/);
  }
  return lastLines;
}

/** Errors stop a runbook; warnings are printed and change nothing. */
export const isError = (d: Diagnostic): boolean => d.severity !== 'warning';

/** Sort diagnostics by file, then position, so output is stable. */
export function sortDiagnostics(ds: Diagnostic[]): Diagnostic[] {
  return [...ds].sort(
    (a, b) =>
      // localeCompare only between two files: it is slow, and one file's diagnostics are most.
      ((a.file ?? '') === (b.file ?? '') ? 0 : (a.file ?? '').localeCompare(b.file ?? '')) ||
      (a.line ?? 0) - (b.line ?? 0) ||
      (a.col ?? 0) - (b.col ?? 0),
  );
}
