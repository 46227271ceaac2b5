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
