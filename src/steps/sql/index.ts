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
  render: renderSql,
  execute: executeSql,
};

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
