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
import { FENCED_SQLSTATE, LOCK_CLASS, LOST, NOTIFY_CHANNEL, REPLY, type AcquireRequest, type AcquireResult, type LeaseRow, type Row } from './protocol.js';

interface Data {
  url: string;
  port: MessagePort;
  flags: SharedArrayBuffer;
  clock: SharedArrayBuffer;
}
const { url, port, flags, clock } = workerData as Data;
const flag = new Int32Array(flags);
const deadline = new Float64Array(clock);

/** Part of the lease a runner may use: past 3/4 of it since its last good heartbeat it fences itself. */
const FENCE_FRACTION = 0.75;
const HEARTBEATS_PER_LEASE = 5;

let data: pg.Client | undefined;
let lockClient: pg.Client | undefined;
let lease: { req: AcquireRequest; epoch: number; timer: NodeJS.Timeout } | undefined;
let lost: string | undefined;
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
    if (client === lockClient) loseLease(`its lock connection to the state store broke (${oneLine(e)})`);
  });
  return client.connect().then(() => client);
}

async function handle(op: string, m: Record<string, unknown>): Promise<unknown> {
  switch (op) {
    case 'open':
      data = await connect({ application_name: 'runbook' });
      await data.query("SET synchronous_commit = on; SET statement_timeout = '60s'");
      return migrate(data);
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
      return acquire(m as unknown as AcquireRequest);
    case 'release':
      return release();
    case 'holder': {
      const r = await data!.query(`${LEASE_SELECT} WHERE lock = $1`, [m.lock]);
      return r.rows[0] ?? null;
    }
    case 'isLive': {
      const r = await data!.query(`${LEASE_SELECT} WHERE run = $1`, [m.run]);
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
      await queue;
      await release();
      await data?.end().catch(() => {});
      data = undefined;
      return null;
    default:
      throw new Error(`unknown op ${op}`);
  }
}

const LEASE_SELECT = `SELECT lock, run, epoch::int, pid, host, "user", to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS started_at,
  to_char(heartbeat_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS heartbeat_at, lease_ms,
  (extract(epoch FROM (heartbeat_at + lease_ms * interval '1 millisecond' - clock_timestamp())) * 1000)::float8 AS left_ms
  FROM runbook.leases`;

async function migrate(client: pg.Client): Promise<number> {
  const has = await client.query("SELECT to_regclass('runbook.schema_version') IS NOT NULL AS ok");
  let current = 0;
  if (has.rows[0].ok) current = (await client.query('SELECT coalesce(max(version), 0) AS v FROM runbook.schema_version')).rows[0].v;
  if (current > LATEST_VERSION) {
    throw Object.assign(new Error(`the state store has schema version ${current}, newer than this runbook knows (${LATEST_VERSION}): upgrade runbook`), { code: 'STATE_SCHEMA_NEWER' });
  }
  if (current === LATEST_VERSION) return current;
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
  return data!.query(
    `WITH ins AS (INSERT INTO runbook.events (run, seq, epoch, type, line)
       SELECT $1, s, $2, t, l FROM unnest($3::bigint[], $4::text[], $5::text[]) AS u(s, t, l) RETURNING 1)
     SELECT pg_notify('${NOTIFY_CHANNEL}', $1) FROM (SELECT count(*) FROM ins) c`,
    [run, epoch, rows.map((r) => r.seq), rows.map((r) => r.type), rows.map((r) => r.line)],
  );
}

async function insertRows(run: string, epoch: number, rows: Row[]): Promise<void> {
  if (writeError || lost) return;
  try {
    await insertStatement(run, epoch, rows);
  } catch (e) {
    const err = e as Error & { code?: string };
    if (err.code === FENCED_SQLSTATE) {
      await recordFenced(run, epoch, rows);
      writeError = { kind: 'fenced', message: oneLine(err) };
      loseLease(`the state store refused its writes: ${oneLine(err)}`);
    } else if (!err.code || /^(08|57P)/.test(err.code)) {
      writeError = { kind: 'lost', message: `the state store cannot be reached (${oneLine(err)})` };
      loseLease(writeError.message);
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
      lease?.req.pid ?? process.pid,
      lease?.req.host ?? 'unknown',
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
  await Promise.race([queue, sleep(2000)]);
  try {
    await Promise.race([insertStatement(m.run, m.epoch, m.rows), sleep(3000).then(() => Promise.reject(new Error('timeout')))]);
    return 'written';
  } catch (e) {
    if ((e as { code?: string }).code === FENCED_SQLSTATE) {
      await recordFenced(m.run, m.epoch, m.rows);
      return 'refused';
    }
    return 'failed';
  }
}

async function acquire(req: AcquireRequest): Promise<AcquireResult> {
  const tickMs = Math.max(200, Math.floor(req.leaseMs / HEARTBEATS_PER_LEASE));
  lockClient = await connect({ application_name: 'runbook lease', query_timeout: tickMs });
  // Server side: end this session (freeing the advisory lock) when we go silent or unreachable.
  await lockClient.query(
    `SELECT set_config('idle_session_timeout', $1, false), set_config('tcp_keepalives_idle', '1', false),
            set_config('tcp_keepalives_interval', '1', false), set_config('tcp_keepalives_count', '3', false),
            set_config('tcp_user_timeout', $2, false), set_config('synchronous_commit', 'on', false)`,
    [String(req.leaseMs), String(Math.min(5000, req.leaseMs))],
  );
  const startedAt = Date.now();
  let watched: { beat: string; since: number } | undefined;
  for (;;) {
    const got = (await lockClient.query('SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok', [LOCK_CLASS, req.lock])).rows[0].ok as boolean;
    const row = (await lockClient.query(`${LEASE_SELECT} WHERE lock = $1`, [req.lock])).rows[0] as LeaseRow | undefined;
    if (got) {
      if (!row || row.left_ms <= 0 || deadHere(row, req.host)) break;
      // Its session is gone but its lease runs: it may still be stopping its steps. Wait it out.
      post({ type: 'wait', message: `waiting ${Math.ceil(row.left_ms / 1000)} s for the lease of run ${row.run} (pid ${row.pid} on ${row.host}) to pass` });
      await sleep(Math.min(row.left_ms + 50, 500));
      continue;
    }
    if (!row) {
      // A runner between taking the lock and writing its row.
      if (Date.now() - startedAt > 5000) return { held: null, message: `lock '${req.lock}' is held by a session of the state store that wrote no lease` };
      await sleep(100);
      continue;
    }
    if (row.left_ms > 0) {
      if (!req.resume || row.run !== req.run) return { held: row, message: heldMessage(req.lock, row) };
      // Resuming the same run: a live holder renews its lease; a dead or frozen one does not.
      if (!watched || watched.beat !== row.heartbeat_at) {
        if (watched) return { held: row, message: `${heldMessage(req.lock, row)}; it is alive (its heartbeat goes on): follow it with runbook attach ${row.run}` };
        watched = { beat: row.heartbeat_at, since: Date.now() };
      }
      if (Date.now() - watched.since > tickMs * 2 + 1000) post({ type: 'wait', message: `run ${row.run}'s holder (pid ${row.pid} on ${row.host}) has stopped renewing its lease: taking over once it passes in ${Math.ceil(row.left_ms / 1000)} s` });
    } else if (Date.now() - startedAt > req.leaseMs + 10_000) {
      return { held: row, message: `${heldMessage(req.lock, row)}: its lease passed at ${row.heartbeat_at} + ${row.lease_ms} ms, but its session to the store is still open` };
    }
    await sleep(200);
  }
  const epochRow = await lockClient.query(
    `INSERT INTO runbook.runs (id, runbook, epoch) VALUES ($1, $2, 1) ON CONFLICT (id) DO UPDATE SET epoch = runbook.runs.epoch + 1 RETURNING epoch::int`,
    [req.run, req.runbook],
  );
  const epoch = epochRow.rows[0].epoch as number;
  const sent = Date.now();
  const ins = await lockClient.query(
    `INSERT INTO runbook.leases (lock, run, epoch, pid, host, "user", started_at, heartbeat_at, lease_ms) VALUES ($1, $2, $3, $4, $5, $6, now(), now(), $7)
       ON CONFLICT (lock) DO UPDATE SET run = $2, epoch = $3, pid = $4, host = $5, "user" = $6, started_at = now(), heartbeat_at = now(), lease_ms = $7
       RETURNING to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS started_at`,
    [req.lock, req.run, epoch, req.pid, req.host, req.user, req.leaseMs],
  );
  deadline[0] = sent + req.leaseMs * FENCE_FRACTION;
  const timer = setInterval(() => void beat(), tickMs);
  lease = { req, epoch, timer };
  return { epoch, started_at: ins.rows[0].started_at };
}

function heldMessage(lock: string, row: LeaseRow): string {
  return `lock '${lock}' is held by run ${row.run} (pid ${row.pid} on ${row.host}, user ${row.user}, since ${row.started_at}; lease renewed ${row.heartbeat_at}, ${row.lease_ms / 1000} s)`;
}

function deadHere(row: LeaseRow, host: string): boolean {
  if (row.host !== host) return false;
  try {
    process.kill(row.pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

let beating = false;
async function beat(): Promise<void> {
  if (!lease || lost || beating) return;
  if (Date.now() > deadline[0]) return loseLease('it ran late past its lease (the process was stopped or starved)');
  beating = true;
  const sent = Date.now();
  try {
    const r = await lockClient!.query('UPDATE runbook.leases SET heartbeat_at = now() WHERE lock = $1 AND run = $2 AND epoch = $3', [lease.req.lock, lease.req.run, lease.epoch]);
    if (r.rowCount !== 1) return loseLease('another runner took the run over');
    if (Date.now() > deadline[0]) return loseLease('its heartbeat came back after the lease');
    deadline[0] = sent + lease.req.leaseMs * FENCE_FRACTION;
  } catch (e) {
    loseLease(`its heartbeat to the state store failed (${oneLine(e)})`);
  } finally {
    beating = false;
  }
}

function loseLease(reason: string): void {
  if (lost || !lease) return;
  lost = reason;
  clearInterval(lease.timer);
  Atomics.store(flag, LOST, 1);
  wake();
  post({ type: 'lost', reason });
  // Dropping the session frees the advisory lock on the server; the lease row stays until it passes.
  lockClient?.end().catch(() => {});
}

async function release(): Promise<null> {
  if (!lease) return null;
  const { req, epoch, timer } = lease;
  clearInterval(timer);
  if (!lost) {
    await lockClient!.query('DELETE FROM runbook.leases WHERE lock = $1 AND run = $2 AND epoch = $3', [req.lock, req.run, epoch]).catch(() => {});
    await lockClient!.query('SELECT pg_advisory_unlock($1, hashtext($2))', [LOCK_CLASS, req.lock]).catch(() => {});
  }
  lease = undefined;
  deadline[0] = 0;
  await lockClient?.end().catch(() => {});
  lockClient = undefined;
  return null;
}

function post(message: object): void {
  parentPort!.postMessage(message);
}
