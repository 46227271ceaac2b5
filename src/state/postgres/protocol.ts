/** Messages between the PostgreSQL store (main thread) and its worker thread. */

export interface Row {
  seq: number;
  type: string;
  line: string;
}

export interface LeaseRow {
  lock: string;
  run: string;
  epoch: number;
  pid: number;
  host: string;
  user: string;
  started_at: string;
  heartbeat_at: string;
  lease_ms: number;
  /** ms until the lease passes (negative: passed), by the server's clock. */
  left_ms: number;
}

export interface AcquireRequest {
  lock: string;
  run: string;
  runbook: string;
  leaseMs: number;
  resume: boolean;
  pid: number;
  host: string;
  user: string;
}

export type AcquireResult = { epoch: number; started_at: string } | { held: LeaseRow | null; message: string };

/** Shared memory: Int32 [0] reply counter (Atomics.wait), [1] lease lost; Float64 [0] lease deadline (ms since epoch, 0: none). */
export const REPLY = 0;
export const LOST = 1;

/** Advisory lock class for run locks (the object is hashtext(lock name)). */
export const LOCK_CLASS = 1381187148;
export const NOTIFY_CHANNEL = 'runbook_events';
/** SQLSTATE the fence trigger raises. */
export const FENCED_SQLSTATE = 'RBF01';

/** The lease rows with the time left by the server's clock. */
export const LEASE_SELECT_SQL = `SELECT lock, run, epoch::int, pid, host, "user", to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS started_at,
  to_char(heartbeat_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS heartbeat_at, lease_ms,
  (extract(epoch FROM (heartbeat_at + lease_ms * interval '1 millisecond' - clock_timestamp())) * 1000)::float8 AS left_ms
  FROM runbook.leases`;
