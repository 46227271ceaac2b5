/**
 * The `sql` step type (spec §2): one `query` with bind `params`, or a `script` of several statements,
 * optionally in a transaction, on a `postgres` connection. A timeout or abort cancels the statement on
 * the server, not just the wait.
 */
import pg from 'pg';
import type { JsonSchema } from '../dsl/json-schema.js';
import { StepFailure, type StepContext, type StepType } from './types.js';
import { backendOf, checkout, QueryCancelled, queryCancellable } from './sql-cancel.js';
import { poolTarget } from './sql-connection.js';
import { describeConnectError, describeSqlError, isAuthError, isServerError, sqlErrorResult } from './sql-errors.js';
import { toStepResult } from './sql-result.js';

export { postgresConnection, type PostgresConnectionConfig } from './sql-connection.js';
export { CANCEL_GRACE_MS } from './sql-cancel.js';
export { MAX_ROWS } from './sql-result.js';

export interface SqlBody {
  connection: string;
  query?: string;
  params?: unknown[];
  script?: string;
  transaction?: boolean;
}

const RENDER_SQL_WIDTH = 60;
const ROLLBACK_TIMEOUT_MS = 2_000;

const schema: JsonSchema = {
  type: 'object',
  description: 'Run SQL on a PostgreSQL connection: one `query` with bind `params`, or a `script` of several statements.',
  additionalProperties: false,
  required: ['connection'],
  properties: {
    connection: { type: 'string', minLength: 1, description: 'Name of a `connections` entry of kind postgres.' },
    query: {
      type: 'string',
      minLength: 1,
      description: 'One SQL statement. Values go through `params` as $1, $2 …; `${{ }}` is not allowed here.',
    },
    params: {
      type: 'array',
      description: 'Bind values for $1, $2 … of `query` (may use `${{ }}`); always sent as data, never as SQL.',
      items: { description: 'A value: string, number, boolean, null, or a list/object (sent as JSON).' },
    },
    script: {
      type: 'string',
      minLength: 1,
      description: 'Several SQL statements separated by `;`, sent as one script (no params, no `${{ }}`). The result is the last statement’s.',
    },
    transaction: {
      type: 'boolean',
      description: 'Wrap in BEGIN/COMMIT; on any failure (or cancel) ROLLBACK, leaving the database unchanged.',
    },
  },
  oneOf: [
    { required: ['query'], not: { required: ['script'] }, description: 'One statement, with optional params.' },
    { required: ['script'], not: { anyOf: [{ required: ['query'] }, { required: ['params'] }] }, description: 'A script, without params.' },
  ],
};

export const sqlStep: StepType<SqlBody> = {
  name: 'sql',
  description: 'Run SQL on PostgreSQL (a query with bind params, or a script), optionally in a transaction; cancelled on the server on timeout.',
  schema,
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

async function executeSql(body: SqlBody, ctx: StepContext): Promise<Record<string, unknown>> {
  const pool = await ctx.connection<pg.Pool>(body.connection, 'postgres');
  const target = poolTarget(pool);
  const text = body.query ?? body.script ?? '';
  let client: pg.PoolClient;
  try {
    client = await checkout(pool, ctx.signal);
  } catch (err) {
    if (err instanceof QueryCancelled) throw cancelledFailure(err, ctx.signal);
    throw new StepFailure(describeConnectError(err, target), undefined, isAuthError(err) ? 'PG_AUTH' : 'PG_UNREACHABLE');
  }
  const onNotice = (msg: { severity?: string; message?: string }) => ctx.output('info', `${msg.severity ?? 'NOTICE'}: ${msg.message}`);
  client.on('notice', onNotice);
  // Keep a client only when we know its session is clean; a cancelled or broken one is discarded.
  let discard: Error | undefined;
  let rolledBack = false;
  try {
    const backend = await backendOf(client);
    const run = (q: pg.QueryConfig) => queryCancellable(pool, client, backend, q, ctx.signal, (line) => ctx.output('info', line));
    const started = performance.now();
    if (body.transaction) await run({ text: 'BEGIN' });
    let outcome: pg.QueryResult | pg.QueryResult[];
    try {
      outcome = await run(toQueryConfig(body));
      if (body.transaction) await run({ text: 'COMMIT' });
    } catch (err) {
      if (body.transaction) {
        rolledBack = await rollback(client);
        if (!rolledBack) discard = new Error('ROLLBACK failed');
      }
      throw err;
    }
    const result = toStepResult(outcome, body.script !== undefined);
    ctx.output('info', `${result.command ?? 'OK'} ${result.row_count} (${Math.round(performance.now() - started)} ms)`);
    return result;
  } catch (err) {
    if (err instanceof QueryCancelled) {
      discard = err;
      const tx = !body.transaction ? '' : rolledBack ? '; transaction rolled back' : '; the server rolls the transaction back as the session ends';
      throw cancelledFailure(err, ctx.signal, tx);
    }
    if (!isServerError(err)) {
      discard = err as Error;
      throw new StepFailure(`postgres ${target.target}: ${(err as Error).message}`, undefined, 'PG_UNREACHABLE');
    }
    const tx = body.transaction ? `\n(transaction ${rolledBack ? 'rolled back' : 'aborted; ROLLBACK failed, session discarded'})` : '';
    throw new StepFailure(describeSqlError(err, text, target.secret) + tx, sqlErrorResult(err, text), 'SQL_ERROR');
  } finally {
    client.off('notice', onNotice);
    client.release(discard);
  }
}

/** Types whose JavaScript form would lose information or depend on the interpreter's time zone: kept as the server's text. */
const TEXT_TYPES = new Set([
  17, 1001, // bytea, bytea[]
  1082, 1182, 1083, 1183, 1266, 1270, // date, time, timetz (and arrays)
  1114, 1115, 1184, 1185, 1186, 1187, // timestamp, timestamptz, interval (and arrays)
]);
const INT8 = 20;

const asText = (v: string) => v;
const asInt8 = (v: string) => {
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : v;
};

const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (TEXT_TYPES.has(oid)) return asText;
    if (oid === INT8) return asInt8;
    return pg.types.getTypeParser(oid, format as 'text');
  }) as pg.CustomTypesConfig['getTypeParser'],
};

function toQueryConfig(body: SqlBody): pg.QueryConfig {
  if (body.script !== undefined) return { text: body.script, types };
  // The extended protocol makes `query` exactly one statement, whether or not it has params.
  return { text: body.query!, values: body.params ?? [], types, queryMode: 'extended' } as pg.QueryConfig;
}

async function rollback(client: pg.PoolClient): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.query('ROLLBACK'),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('ROLLBACK timed out')), ROLLBACK_TIMEOUT_MS))),
    ]);
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

function cancelledFailure(err: QueryCancelled, signal: AbortSignal, note = ''): StepFailure {
  const reason = signal.reason as { name?: string; message?: string } | undefined;
  const timedOut = reason?.name === 'TimeoutError';
  const why = timedOut ? 'timeout' : reason?.message && reason.name !== 'AbortError' ? reason.message : 'aborted';
  return new StepFailure(`cancelled (${why}): ${err.how}${note}`, undefined, timedOut ? 'STEP_TIMEOUT' : 'STEP_CANCELLED');
}
