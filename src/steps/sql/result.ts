/**
 * The step result of a `sql` body: `rows` (first MAX_ROWS), `row_count`, `fields`, `command`, and for
 * a script the last statement's result plus `statements`.
 */
import type pg from 'pg';

/** Rows kept in the result (and so in the journal); `row_count` still says how many there were. */
export const MAX_ROWS = 1000;

export interface SqlResult extends Record<string, unknown> {
  rows: Record<string, unknown>[];
  row_count: number;
  fields: { name: string; type_id: number }[];
  command: string | null;
  rows_truncated?: true;
  statements?: number;
}

export function toStepResult(outcome: pg.QueryResult | pg.QueryResult[], isScript: boolean): SqlResult {
  // pg answers a multi-statement script with one result per statement, a single one with a lone result.
  const all = Array.isArray(outcome) ? outcome : [outcome];
  const last = all[all.length - 1];
  const rows = (last?.rows ?? []) as Record<string, unknown>[];
  return {
    rows: rows.slice(0, MAX_ROWS),
    row_count: last?.rowCount ?? rows.length,
    fields: (last?.fields ?? []).map((f) => ({ name: f.name, type_id: f.dataTypeID })),
    command: last?.command ?? null,
    ...(rows.length > MAX_ROWS ? { rows_truncated: true as const } : {}),
    ...(isScript ? { statements: all.length } : {}),
  };
}

const DONE: Record<string, string> = { INSERT: 'inserted', UPDATE: 'updated', DELETE: 'deleted', MERGE: 'merged', COPY: 'copied', MOVE: 'moved' };

/**
 * The step's one-line summary: `1 row (28 ms)`, `3 rows updated (12 ms)`, `CREATE done (5 ms)`. Not
 * the command tag (`SELECT 1`), which reads like the query that ran.
 */
export function describeSqlResult(result: Pick<SqlResult, 'command' | 'row_count' | 'statements'>, ms: number): string {
  const n = `${result.row_count} row${result.row_count === 1 ? '' : 's'}`;
  const cmd = result.command ?? '';
  const what = cmd === 'SELECT' || cmd === 'FETCH' || cmd === 'SHOW' ? n : DONE[cmd] ? `${n} ${DONE[cmd]}` : `${cmd || 'statement'} done`;
  const statements = (result.statements ?? 1) > 1 ? `${result.statements} statement${result.statements === 1 ? '' : 's'}, last: ` : '';
  return `${statements}${what} (${ms} ms)`;
}
