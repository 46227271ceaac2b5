/**
 * Running a `sql` body on a pooled `pg` client: checkout, optional transaction, cancellable query,
 * errors mapped to StepFailure codes. Imported by `./sql.ts` on the first execute, so `validate` and
 * `plan` never load `pg`.
 */
import pg from 'pg';
import { StepFailure, type StepContext } from '../types.js';
import { backendOf, checkout, QueryCancelled, queryCancellable } from './cancel.js';
import { poolTarget } from './connection.js';
import { describeConnectError, describeSqlError, isAuthError, isServerError, sqlErrorResult } from './errors.js';
import { describeSqlResult, toStepResult } from './result.js';
import type { SqlBody } from './schema.js';

const ROLLBACK_TIMEOUT_MS = 2_000;

export async function executeSql(body: SqlBody, ctx: StepContext): Promise<Record<string, unknown>> {
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
  // A broken connection (a lost tunnel, a reset) makes a checked-out client emit 'error' besides
  // failing its query; the pool listens only on idle clients, and unheard it would crash the run.
  const onError = () => {};
  client.on('error', onError);
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
    ctx.output('info', describeSqlResult(result, Math.round(performance.now() - started)));
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
    client.off('error', onError);
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
