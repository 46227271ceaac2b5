/**
 * The `sql` step type (spec §2): one `query` with bind `params`, or a `script` of several statements,
 * optionally in a transaction, on a `postgres` connection. A timeout or abort cancels the statement on
 * the server, not just the wait. Only the description lives here; the work (and `pg`) is imported on
 * the first execute (`./sql-execute.ts`).
 */
import { sqlBodySchema, type SqlBody } from './schema.js';
import type { StepContext, StepType } from '../types.js';

export { postgresConnection, type PostgresConnectionConfig } from './connection.js';
export { CANCEL_GRACE_MS } from './constants.js';
export { MAX_ROWS } from './result.js';
export type { SqlBody } from './schema.js';

const RENDER_SQL_WIDTH = 60;

let implementation: Promise<typeof import('./execute.js')> | undefined;
const loadExecute = () => (implementation ??= import('./execute.js'));

async function executeSql(body: SqlBody, ctx: StepContext): Promise<Record<string, unknown>> {
  return (await loadExecute()).executeSql(body, ctx);
}

export const sqlStep: StepType<SqlBody> = {
  name: 'sql',
  description: 'Run SQL on PostgreSQL (a query with bind params, or a script), optionally in a transaction; cancelled on the server on timeout.',
  schema: sqlBodySchema,
  sideEffects: true,
  connectionKind: 'postgres',
  noInterpolation: ['query', 'script'],
  readOnly: (body) => sqlReadOnly(body.query ?? body.script ?? ''),
  render: renderSql,
  execute: executeSql,
};

/**
 * SELECT, SHOW and EXPLAIN (spec §12), each statement of a script. Not read-only: `SELECT … INTO`
 * (creates a table), `SELECT … FOR UPDATE` (takes locks) and `EXPLAIN ANALYZE` of anything but a
 * SELECT (it runs the statement). Comments and string literals are not parsed: a `;` inside a
 * literal only makes the answer more cautious.
 */
export function sqlReadOnly(sql: string): boolean {
  const statements = sql
    .replace(/--[^\n]*/g, ' ')
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!statements.length) return false;
  return statements.every((st) => {
    const words = st.toUpperCase().split(/\s+/);
    const [first] = words;
    if (first === 'SHOW') return true;
    if (first === 'SELECT' || first === '(SELECT') return !/\bINTO\b|\bFOR\s+(UPDATE|SHARE|NO\s+KEY|KEY)\b/i.test(st);
    if (first === 'EXPLAIN') {
      const analyze = /^EXPLAIN\s+(\([^)]*\bANALY[SZ]E\b[^)]*\)|ANALY[SZ]E\b)/i.test(st);
      if (!analyze) return true;
      const inner = st.replace(/^EXPLAIN\s+(\([^)]*\)|ANALY[SZ]E\b|VERBOSE\b|\s)*/i, '');
      return sqlReadOnly(inner);
    }
    return false;
  });
}

/** `sql db: SELECT * FROM trades WHERE id = $1 (1 param)`. */
export function renderSql(body: SqlBody): string {
  const text = (body.query ?? body.script ?? '').replace(/\s+/g, ' ').trim();
  const short = text.length > RENDER_SQL_WIDTH ? `${text.slice(0, RENDER_SQL_WIDTH - 1)}…` : text;
  const n = body.params?.length ?? 0;
  const notes = [
    body.script !== undefined ? 'script' : '',
    n ? `${n} param${n === 1 ? '' : 's'}` : '',
    body.transaction ? 'transaction' : '',
  ].filter(Boolean);
  return `sql ${body.connection}: ${short}${notes.length ? ` (${notes.join(', ')})` : ''}`;
}
