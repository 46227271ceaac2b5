/**
 * The lease, in the store's worker thread (spec §10): the `lock` connection holds the session
 * advisory lock and renews the lease row every fifth of the lease. The session asks the server to
 * end it when it goes silent (idle_session_timeout = the lease) or unreachable (keepalives,
 * tcp_user_timeout), which frees the lock for a takeover. We fence ourselves before that: a failed
 * heartbeat, a row that says someone else took over, or a deadline passed (three quarters of the
 * lease since the last good heartbeat was sent) loses the lease, and the main thread is told.
 */
import type pg from 'pg';
import { LEASE_SELECT_SQL, LOCK_CLASS, LOST, type AcquireRequest, type AcquireResult, type LeaseRow } from './protocol.js';

/** Part of the lease a runner may use: past 3/4 of it since its last good heartbeat it fences itself. */
const FENCE_FRACTION = 0.75;
const HEARTBEATS_PER_LEASE = 5;

export interface KeeperDeps {
  connect(opts: pg.ClientConfig): Promise<pg.Client>;
  /** Shared with the main thread: Int32 [LOST] set when lost; Float64 [0] the deadline. */
  flag: Int32Array;
  deadline: Float64Array;
  post(message: object): void;
  /** Wake a main thread waiting in Atomics.wait. */
  wake(): void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class LeaseKeeper {
  private client: pg.Client | undefined;
  private lease: { req: AcquireRequest; epoch: number; timer: NodeJS.Timeout } | undefined;
  private beating = false;
  /** Why the lease was lost, once it was. */
  lost: string | undefined;

  constructor(private readonly deps: KeeperDeps) {}

  owns(client: pg.Client): boolean {
    return client === this.client;
  }

  get holder(): { pid: number; host: string } | undefined {
    return this.lease?.req;
  }

  async acquire(req: AcquireRequest): Promise<AcquireResult> {
    const tickMs = Math.max(200, Math.floor(req.leaseMs / HEARTBEATS_PER_LEASE));
    this.client = await this.deps.connect({ application_name: 'runbook lease', query_timeout: tickMs });
    // Server side: end this session (freeing the advisory lock) when we go silent or unreachable.
    await this.client.query(
      `SELECT set_config('idle_session_timeout', $1, false), set_config('tcp_keepalives_idle', '1', false),
              set_config('tcp_keepalives_interval', '1', false), set_config('tcp_keepalives_count', '3', false),
              set_config('tcp_user_timeout', $2, false), set_config('synchronous_commit', 'on', false)`,
      [String(req.leaseMs), String(Math.min(5000, req.leaseMs))],
    );
    const startedAt = Date.now();
    let watched: { beat: string; since: number } | undefined;
    for (;;) {
      const got = (await this.client.query('SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok', [LOCK_CLASS, req.lock])).rows[0].ok as boolean;
      const row = (await this.client.query(`${LEASE_SELECT_SQL} WHERE lock = $1`, [req.lock])).rows[0] as LeaseRow | undefined;
      if (got) {
        if (!row || row.left_ms <= 0 || deadHere(row, req.host)) break;
        // Its session is gone but its lease runs: it may still be stopping its steps. Wait it out.
        this.deps.post({ type: 'wait', message: `waiting ${Math.ceil(row.left_ms / 1000)} s for the lease of run ${row.run} (pid ${row.pid} on ${row.host}) to pass` });
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
        if (Date.now() - watched.since > tickMs * 2 + 1000) this.deps.post({ type: 'wait', message: `run ${row.run}'s holder (pid ${row.pid} on ${row.host}) has stopped renewing its lease: taking over once it passes in ${Math.ceil(row.left_ms / 1000)} s` });
      } else if (Date.now() - startedAt > req.leaseMs + 10_000) {
        return { held: row, message: `${heldMessage(req.lock, row)}: its lease passed at ${row.heartbeat_at} + ${row.lease_ms} ms, but its session to the store is still open` };
      }
      await sleep(200);
    }
    const epochRow = await this.client.query(
      `INSERT INTO runbook.runs (id, runbook, epoch) VALUES ($1, $2, 1) ON CONFLICT (id) DO UPDATE SET epoch = runbook.runs.epoch + 1 RETURNING epoch::int`,
      [req.run, req.runbook],
    );
    const epoch = epochRow.rows[0].epoch as number;
    const sent = Date.now();
    const ins = await this.client.query(
      `INSERT INTO runbook.leases (lock, run, epoch, pid, host, "user", started_at, heartbeat_at, lease_ms) VALUES ($1, $2, $3, $4, $5, $6, now(), now(), $7)
         ON CONFLICT (lock) DO UPDATE SET run = $2, epoch = $3, pid = $4, host = $5, "user" = $6, started_at = now(), heartbeat_at = now(), lease_ms = $7
         RETURNING to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS started_at`,
      [req.lock, req.run, epoch, req.pid, req.host, req.user, req.leaseMs],
    );
    this.deps.deadline[0] = sent + req.leaseMs * FENCE_FRACTION;
    const timer = setInterval(() => void this.beat(), tickMs);
    this.lease = { req, epoch, timer };
    return { epoch, started_at: ins.rows[0].started_at };
  }

  private async beat(): Promise<void> {
    const { lease, deps } = this;
    if (!lease || this.lost || this.beating) return;
    if (Date.now() > deps.deadline[0]) return this.lose('it ran late past its lease (the process was stopped or starved)');
    this.beating = true;
    const sent = Date.now();
    try {
      const r = await this.client!.query('UPDATE runbook.leases SET heartbeat_at = now() WHERE lock = $1 AND run = $2 AND epoch = $3', [lease.req.lock, lease.req.run, lease.epoch]);
      if (r.rowCount !== 1) return this.lose('another runner took the run over');
      if (Date.now() > deps.deadline[0]) return this.lose('its heartbeat came back after the lease');
      deps.deadline[0] = sent + lease.req.leaseMs * FENCE_FRACTION;
    } catch (e) {
      this.lose(`its heartbeat to the state store failed (${(e as Error).message.split('\n')[0]})`);
    } finally {
      this.beating = false;
    }
  }

  lose(reason: string): void {
    if (this.lost || !this.lease) return;
    this.lost = reason;
    clearInterval(this.lease.timer);
    Atomics.store(this.deps.flag, LOST, 1);
    this.deps.wake();
    this.deps.post({ type: 'lost', reason });
    // Dropping the session frees the advisory lock on the server; the lease row stays until it passes.
    this.client?.end().catch(() => {});
  }

  async release(): Promise<null> {
    if (!this.lease) return null;
    const { req, epoch, timer } = this.lease;
    clearInterval(timer);
    if (!this.lost) {
      await this.client!.query('DELETE FROM runbook.leases WHERE lock = $1 AND run = $2 AND epoch = $3', [req.lock, req.run, epoch]).catch(() => {});
      await this.client!.query('SELECT pg_advisory_unlock($1, hashtext($2))', [LOCK_CLASS, req.lock]).catch(() => {});
    }
    this.lease = undefined;
    this.deps.deadline[0] = 0;
    await this.client?.end().catch(() => {});
    this.client = undefined;
    return null;
  }
}

function heldMessage(lock: string, row: LeaseRow): string {
  return `lock '${lock}' is held by run ${row.run} (pid ${row.pid} on ${row.host}, user ${row.user}, since ${row.started_at}; lease renewed ${row.heartbeat_at}, ${row.lease_ms / 1000} s)`;
}

/** The holder ran on this host and its pid is gone: no need to wait for its lease. */
function deadHere(row: LeaseRow, host: string): boolean {
  if (row.host !== host) return false;
  try {
    process.kill(row.pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
