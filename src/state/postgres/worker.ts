/**
 * The PostgreSQL store's connections, in a worker thread (see store.ts for why). Two connections:
 * `data` writes the journal and answers reads; `lock` holds the session advisory lock of the run's
 * lock and renews the lease row (the heartbeat). The lock session sets idle_session_timeout, TCP
 * keepalives and tcp_user_timeout, so a frozen or cut-off holder's session (and its lock) ends on the
 * server by itself. The heartbeat fences us first: when it fails, or the lease deadline has passed
 * (the process was stopped), the lease is lost and the main thread is told.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import pg from 'pg';
import { LATEST_VERSION, MIGRATIONS, MIGRATION_LOCK } from './migrations.js';
import { FENCED_SQLSTATE, LEASE_SELECT_SQL, NOTIFY_CHANNEL, REPLY, type AcquireRequest, type LeaseRow, type Row } from './protocol.js';
import { LeaseKeeper } from './lease-keeper.js';

interface Data {
  url: string;
  port: MessagePort;
  flags: SharedArrayBuffer;
  clock: SharedArrayBuffer;
}
const { url, port, flags, clock } = workerData as Data;
const flag = new Int32Array(flags);
const deadline = new Float64Array(clock);

let data: pg.Client | undefined;
const keeper = new LeaseKeeper({ connect: (opts) => connect(opts), flag, deadline, post, wake });
/** Journal writes run one after another, in append order. */
let queue: Promise<void> = Promise.resolve();
let writeError: { kind: 'fenced' | 'lost' | 'unwritable'; message: string } | undefined;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

port.on('message', (msg: { op: string; id?: number; [k: string]: unknown }) => {
  if (msg.op === 'append') {
    const { run, epoch, rows } = msg as unknown as { run: string; epoch: number; rows: Row[] };
    queue = queue.then(() => insertRows(run, epoch, rows));
    return;
  }
  void answer(msg);
});

async function answer(msg: { op: string; id?: number; [k: string]: unknown }): Promise<void> {
  let reply: object;
  try {
    reply = { id: msg.id, ok: true, result: await handle(msg.op, msg) };
  } catch (e) {
    const err = e as Error & { code?: string; held?: unknown };
    reply = { id: msg.id, ok: false, message: oneLine(err), code: err.code };
  }
  port.postMessage(reply);
  wake();
}

function wake(): void {
  Atomics.add(flag, REPLY, 1);
  Atomics.notify(flag, REPLY);
}

function oneLine(e: unknown): string {
  const err = e as Error & { code?: string };
  const text = err?.message || String(e);
  return text.split('\n')[0];
}

function connect(opts: pg.ClientConfig = {}): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000, keepAlive: true, keepAliveInitialDelayMillis: 1000, ...opts });
  // A dropped connection emits 'error' outside any query: noted, never a crash of the worker.
  client.on('error', (e) => {
    if (keeper.owns(client)) keeper.lose(`its lock connection to the state store broke (${oneLine(e)})`);
  });
  return client.connect().then(() => client);
}

async function handle(op: string, m: Record<string, unknown>): Promise<unknown> {
  switch (op) {
    case 'open':
      data = await connect({ application_name: 'runbook' });
      await data.query("SET synchronous_commit = on; SET statement_timeout = '60s'");
      return migrate(data, m.readOnly === true);
    case 'flush':
      await queue;
      if (writeError) throw Object.assign(new Error(writeError.message), { code: writeError.kind });
      return null;
    case 'openJournal': {
      const { run, runbook, epoch } = m as { run: string; runbook: string; epoch: number };
      await data!.query('INSERT INTO runbook.runs (id, runbook, epoch) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING', [run, runbook, epoch]);
      const r = await data!.query('SELECT coalesce(max(seq), 0)::int AS seq FROM runbook.events WHERE run = $1', [run]);
      return r.rows[0].seq;
    }
    case 'readRun': {
      const r = await data!.query('SELECT line FROM runbook.events WHERE run = $1 AND seq > $2 ORDER BY seq', [m.run, m.after ?? 0]);
      const exists = r.rowCount ? true : (await data!.query('SELECT 1 FROM runbook.runs WHERE id = $1', [m.run])).rowCount! > 0;
      return exists ? r.rows.map((x: { line: string }) => x.line) : null;
    }
    case 'listRuns': {
      const r = await data!.query(
        `SELECT r.id, s.line AS started, f.line AS finished FROM runbook.runs r
           JOIN LATERAL (SELECT line FROM runbook.events e WHERE e.run = r.id AND e.type = 'run.started' ORDER BY seq LIMIT 1) s ON true
           LEFT JOIN LATERAL (SELECT line FROM runbook.events e WHERE e.run = r.id AND e.type = 'run.finished' ORDER BY seq DESC LIMIT 1) f ON true
          WHERE $1::text IS NULL OR r.runbook = $1`,
        [m.runbook ?? null],
      );
      return r.rows;
    }
    case 'acquire':
      return keeper.acquire(m as unknown as AcquireRequest);
    case 'release':
      return keeper.release();
    case 'holder': {
      const r = await data!.query(`${LEASE_SELECT_SQL} WHERE lock = $1`, [m.lock]);
      return r.rows[0] ?? null;
    }
    case 'isLive': {
      const r = await data!.query(`${LEASE_SELECT_SQL} WHERE run = $1`, [m.run]);
      return r.rows.some((x: LeaseRow) => x.left_ms > 0);
    }
    case 'lastWords':
      return lastWords(m as unknown as { run: string; epoch: number; rows: Row[] });
    case 'importRun': {
      const { run, runbook, rows } = m as { run: string; runbook: string; rows: Row[] };
      await data!.query('BEGIN');
      try {
        const ins = await data!.query('INSERT INTO runbook.runs (id, runbook, epoch) VALUES ($1, $2, 0) ON CONFLICT (id) DO NOTHING', [run, runbook]);
        if (ins.rowCount === 0) throw new Error(`run ${run} is already in the store`);
        await insertStatement(run, 0, rows);
        await data!.query('COMMIT');
      } catch (e) {
        await data!.query('ROLLBACK');
        throw e;
      }
      return null;
    }
    case 'close':
      await Promise.race([queue, sleep(keeper.lost ? 500 : 10_000)]);
      await keeper.release();
      await data?.end().catch(() => {});
      data = undefined;
      return null;
    default:
      throw new Error(`unknown op ${op}`);
  }
}


/** Bring the schema to the latest version; a read-only command only reads it (0: no schema yet). */
async function migrate(client: pg.Client, readOnly: boolean): Promise<number> {
  const has = await client.query("SELECT to_regclass('runbook.schema_version') IS NOT NULL AS ok");
  let current = 0;
  if (has.rows[0].ok) current = (await client.query('SELECT coalesce(max(version), 0) AS v FROM runbook.schema_version')).rows[0].v;
  if (current > LATEST_VERSION) {
    throw Object.assign(new Error(`the state store has schema version ${current}, newer than this runbook knows (${LATEST_VERSION}): upgrade runbook`), { code: 'STATE_SCHEMA_NEWER' });
  }
  if (current === LATEST_VERSION || readOnly) return current;
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1, $2)', MIGRATION_LOCK);
    // Someone may have migrated while we waited for the lock.
    const again = (await client.query("SELECT to_regclass('runbook.schema_version') IS NOT NULL AS ok")).rows[0].ok
      ? (await client.query('SELECT coalesce(max(version), 0) AS v FROM runbook.schema_version')).rows[0].v
      : 0;
    for (const m of MIGRATIONS) {
      if (m.version <= again) continue;
      await client.query(m.sql);
      await client.query('INSERT INTO runbook.schema_version (version) VALUES ($1)', [m.version]);
    }
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  }
  return LATEST_VERSION;
}

function insertStatement(run: string, epoch: number, rows: Row[]): Promise<unknown> {
  // One statement: the NOTIFY is sent at its commit, with synchronous_commit on (durable first).
  // Named, so the server parses and plans it once per connection, not at every commit (bench/state.mjs:
  // 0.63–0.68 ms a commit unnamed, 0.47–0.50 named).
  return data!.query({
    name: 'runbook-insert-events',
    text: `WITH ins AS (INSERT INTO runbook.events (run, seq, epoch, type, line)
       SELECT $1, s, $2, t, l FROM unnest($3::bigint[], $4::text[], $5::text[]) AS u(s, t, l) RETURNING 1)
     SELECT pg_notify('${NOTIFY_CHANNEL}', $1) FROM (SELECT count(*) FROM ins) c`,
    values: [run, epoch, rows.map((r) => r.seq), rows.map((r) => r.type), rows.map((r) => r.line)],
  });
}

async function insertRows(run: string, epoch: number, rows: Row[]): Promise<void> {
  if (writeError || keeper.lost) return;
  try {
    await insertStatement(run, epoch, rows);
  } catch (e) {
    const err = e as Error & { code?: string };
    if (err.code === FENCED_SQLSTATE) {
      await recordFenced(run, epoch, rows);
      writeError = { kind: 'fenced', message: oneLine(err) };
      keeper.lose(`the state store refused its writes: ${oneLine(err)}`);
    } else if (!err.code || /^(08|57P)/.test(err.code)) {
      writeError = { kind: 'lost', message: `the state store cannot be reached (${oneLine(err)})` };
      keeper.lose(writeError.message);
    } else {
      writeError = { kind: 'unwritable', message: `the state store refused the journal: ${oneLine(err)}` };
    }
  }
}

async function recordFenced(run: string, epoch: number, rows: Row[]): Promise<void> {
  await data!
    .query('INSERT INTO runbook.fenced_writes (run, epoch, current_epoch, pid, host, lines) VALUES ($1, $2, (SELECT epoch FROM runbook.runs WHERE id = $1), $3, $4, $5)', [
      run,
      epoch,
      keeper.holder?.pid ?? process.pid,
      keeper.holder?.host ?? 'unknown',
      rows.map((r) => r.line),
    ])
    .catch(() => {});
}

/**
 * A runner that lost its lease writes one last, conditional batch (what it had buffered and why it
 * stops). Still the lease's epoch: it lands in the journal (nobody took over: the next runner
 * reads why this one stopped). A newer epoch: refused by the fence and kept in fenced_writes.
 */
async function lastWords(m: { run: string; epoch: number; rows: Row[] }): Promise<string> {
  if (!data || !m.rows.length) return 'none';
  // Short waits: a runner that lost its lease must exit soon, and the store may be unreachable.
  await Promise.race([queue, sleep(1000)]);
  try {
    await Promise.race([insertStatement(m.run, m.epoch, m.rows), sleep(2000).then(() => Promise.reject(new Error('timeout')))]);
    return 'written';
  } catch (e) {
    if ((e as { code?: string }).code === FENCED_SQLSTATE) {
      await recordFenced(m.run, m.epoch, m.rows);
      return 'refused';
    }
    return 'failed';
  }
}

function post(message: object): void {
  parentPort!.postMessage(message);
}
