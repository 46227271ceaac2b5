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
