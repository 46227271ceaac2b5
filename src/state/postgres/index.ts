/**
 * The shared store, `postgres://…` (spec §10): journals, leases and history in schema `runbook` of a
 * PostgreSQL the team runs outside the blast radius.
 *
 * Why a worker thread: the interpreter's journal contract is synchronous — `flush()` returns once
 * every event is durable, before a side effect starts, like fsync (spec §6). pg is asynchronous,
 * so its connections live in a worker and the main thread waits for the commit with Atomics.wait:
 * a commit blocks the runner exactly as an fsync does, and the worker keeps the lease's heartbeat
 * going while the main thread is busy. The worker also says when the lease is lost (a message, and a
 * flag in shared memory that `flush` reads), and the lease's deadline is in shared memory too, so a
 * runner that was stopped and wakes up sees it ran late before it starts anything.
 */
import { fileURLToPath } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { userInfo } from 'node:os';
import { RunbookError } from '../../dsl/errors.js';
import { StateStoreError } from '../errors.js';
import { builtModule } from '../../util/built-module.js';
import type { RunEvent, RunFinishedEvent, RunStartedEvent } from '../../interpreter/events.js';
import { LockHeldError } from '../../interpreter/lock.js';
import { runnerHost } from '../host.js';
import { lastRunner, processAlive } from '../liveness.js';
import { newestFirst, summarizeRun } from '../summary.js';
import type { AcquireOptions, FollowOptions, HolderInfo, JournalSink, OpenJournalOptions, RunLease, RunSummary, StateStore } from '../types.js';
import { PostgresJournal } from './journal.js';
import { followRun } from './follow.js';
import { LOST, REPLY, type AcquireResult, type LeaseRow, type Row } from './protocol.js';



/** The lease was lost while waiting for the store: the caller stops (exit 5). */
export class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError';
}

const CALL_TIMEOUT_MS = 30_000;

export class PostgresStore implements StateStore {
  readonly kind = 'postgres' as const;
  readonly label: string;
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly flags = new Int32Array(new SharedArrayBuffer(8));
  private readonly clock = new Float64Array(new SharedArrayBuffer(8));
  private nextId = 1;
  private closed = false;
  private readonly lostListeners: ((reason: string) => void)[] = [];
  private lostReason: string | undefined;
  private waitListener: ((message: string) => void) | undefined;

  /** The schema version found (0: none yet, a read-only open of a fresh database). */
  private version = 0;

  constructor(
    readonly url: string,
    opts: { readOnly?: boolean } = {},
  ) {
    this.label = redact(url);
    const channel = new MessageChannel();
    this.port = channel.port1;
    this.worker = new Worker(workerFile(), {
      // Not the process's node options: a worker would inherit them (`--input-type`, say, stops it).
      execArgv: [],
      workerData: { url, port: channel.port2, flags: this.flags.buffer, clock: this.clock.buffer },
      transferList: [channel.port2],
    });
    this.worker.on('message', (m: { type: string; reason?: string; message?: string }) => {
      if (m.type === 'lost') this.markLost(m.reason ?? 'the lease was lost');
      else if (m.type === 'wait') this.waitListener?.(m.message ?? '');
    });
    // A worker that dies takes the connections with it: for a runner, that is a lost lease.
    this.worker.on('error', (e) => this.markLost(`the state store's worker failed (${e.message})`));
    this.worker.unref();
    try {
      this.version = this.call<number>('open', { readOnly: !!opts.readOnly }, 20_000);
    } catch (e) {
      this.close();
      throw new StateStoreError(`state store ${this.label}: ${describeOpenError(e as Error)}`);
    }
  }

  /** A synchronous call into the worker: post, then wait on the shared counter for the reply. */
  call<T>(op: string, args: Record<string, unknown>, timeoutMs = CALL_TIMEOUT_MS, opts: { stopOnLost?: boolean } = {}): T {
    if (this.closed && op !== 'close') throw new Error('the state store is closed');
    const id = this.nextId++;
    let seen = Atomics.load(this.flags, REPLY);
    this.port.postMessage({ ...args, op, id });
    const until = Date.now() + timeoutMs;
    for (;;) {
      for (let m = receiveMessageOnPort(this.port); m; m = receiveMessageOnPort(this.port)) {
        const reply = m.message as { id: number; ok: boolean; result?: T; message?: string; code?: string };
        if (reply.id !== id) continue;
        if (!reply.ok) throw Object.assign(new Error(reply.message), { code: reply.code });
        return reply.result as T;
      }
      if (opts.stopOnLost && this.lostNow()) throw new LeaseLostError(this.lostReason ?? 'the lease was lost');
      const left = until - Date.now();
      if (left <= 0) throw Object.assign(new Error(`the state store did not answer within ${Math.round(timeoutMs / 1000)} s`), { code: 'timeout' });
      Atomics.wait(this.flags, REPLY, seen, Math.min(left, 250));
      seen = Atomics.load(this.flags, REPLY);
    }
  }

  /** Post without waiting (journal appends: the next flush waits for them). */
  post(op: string, args: Record<string, unknown>): void {
    this.port.postMessage({ ...args, op });
  }

  /** Lost: the worker said so, or the lease deadline in shared memory has passed (we were stopped). */
  lostNow(): boolean {
    if (this.lostReason) return true;
    if (Atomics.load(this.flags, LOST) === 1) {
      this.markLost('the lease was lost');
      return true;
    }
    const deadline = this.clock[0];
    if (deadline > 0 && Date.now() > deadline) {
      this.markLost('it ran late past its lease (the process was stopped or starved)');
      return true;
    }
    return false;
  }

  lostWhy(): string | undefined {
    return this.lostReason;
  }

  private markLost(reason: string): void {
    if (this.lostReason) return;
    this.lostReason = reason;
    for (const l of this.lostListeners) {
      try {
        l(reason);
      } catch {
        // a listener must not stop the others
      }
    }
  }

  openJournal(runId: string, opts: OpenJournalOptions & { runbook?: string }): JournalSink {
    const seq = this.call<number>('openJournal', { run: runId, runbook: opts.runbook ?? runbookOfRunId(runId), epoch: opts.epoch });
    return new PostgresJournal(this, runId, opts.epoch, seq, opts.onFailure);
  }

  readRun(runId: string): RunEvent[] {
    const lines = this.version === 0 ? null : this.call<string[] | null>('readRun', { run: runId });
    if (lines === null) throw new RunbookError({ code: 'RUN_NOT_FOUND', message: `no run '${runId}' in ${this.label}` });
    return lines.map((l) => JSON.parse(l) as RunEvent);
  }

  /** Lines after `after` (seq), for follow. */
  readLines(runId: string, after: number): string[] {
    return this.call<string[] | null>('readRun', { run: runId, after }) ?? [];
  }

  hasRun(runId: string): boolean {
    if (this.version === 0) return false;
    return this.call<string[] | null>('readRun', { run: runId, after: Number.MAX_SAFE_INTEGER }) !== null;
  }

  listRuns(runbookId?: string): RunSummary[] {
    if (this.version === 0) return [];
    const rows = this.call<{ id: string; started: string; finished: string | null }[]>('listRuns', { runbook: runbookId ?? null });
    return rows
      .map((r) => summarizeRun(r.id, JSON.parse(r.started) as RunStartedEvent, r.finished ? (JSON.parse(r.finished) as RunFinishedEvent) : undefined))
      .sort(newestFirst);
  }

  acquire(lockName: string, opts: AcquireOptions): RunLease {
    const host = runnerHost();
    this.waitListener = opts.onWait;
    let r: AcquireResult;
    try {
      r = this.call<AcquireResult>(
        'acquire',
        { lock: lockName, run: opts.run, runbook: opts.runbook, leaseMs: opts.leaseMs, resume: opts.resume, pid: process.pid, host, user: currentUser() },
        opts.leaseMs * 3 + 30_000,
      );
    } finally {
      this.waitListener = undefined;
    }
    if ('held' in r) {
      const h = r.held;
      throw new LockHeldError(
        lockName,
        h ? holderOf(h) : { pid: 0, host: 'unknown', user: 'unknown', started_at: '', run: 'unknown', runbook: 'unknown' },
        this.label,
        r.message,
      );
    }
    const store = this;
    const holder: HolderInfo = { pid: process.pid, host, user: currentUser(), started_at: r.started_at, run: opts.run, runbook: opts.runbook };
    return {
      holder,
      epoch: r.epoch,
      onLost(listener) {
        store.lostListeners.push(listener);
        if (store.lostReason) listener(store.lostReason);
      },
      get lost() {
        return store.lostNow();
      },
      release() {
        if (!store.closed) store.call('release', {});
      },
    };
  }

  holder(lockName: string): HolderInfo | null {
    const row = this.call<LeaseRow | null>('holder', { lock: lockName });
    return row ? holderOf(row) : null;
  }

  isLive(runId: string): boolean {
    if (this.version === 0) return false;
    if (this.call<boolean>('isLive', { run: runId })) return true;
    // No fresh lease: a run without one (a dry run) is live while its process is.
    const events = this.readRun(runId);
    if (events.some((e) => e.type === 'run.finished')) return false;
    const runner = lastRunner(events);
    return runner !== undefined && processAlive(runner.pid, runner.host) === true;
  }

  follow(runId: string, onEvent: (event: RunEvent) => void, opts: FollowOptions = {}): Promise<void> {
    return followRun(this.url, this, runId, onEvent, opts);
  }

  importRun(events: RunEvent[]): void {
    const runId = events[0]?.run;
    if (!runId) throw new RunbookError({ code: 'IMPORT', message: 'nothing to import: no events' });
    const started = events.find((e): e is RunStartedEvent => e.type === 'run.started');
    const rows: Row[] = events.map((e, i) => ({ seq: i + 1, type: e.type, line: JSON.stringify(e) }));
    try {
      this.call('importRun', { run: runId, runbook: started?.runbook ?? runbookOfRunId(runId), rows });
    } catch (e) {
      throw new RunbookError({ code: 'IMPORT', message: `${(e as Error).message} (${this.label})` });
    }
  }

  /** Lines exactly as stored, for export. */
  reportFile(): string | undefined {
    return undefined;
  }

  close(): void {
    if (this.closed) return;
    try {
      this.call('close', {}, this.lostReason ? 2000 : 15_000);
    } catch {
      // closing is best effort: the process is about to exit
    }
    this.closed = true;
    void this.worker.terminate();
  }
}

function holderOf(row: LeaseRow): HolderInfo {
  return { pid: row.pid, host: row.host, user: row.user, started_at: row.started_at, run: row.run, runbook: runbookOfRunId(row.run) };
}

/** Run ids end in `-<runbook id>-<4 hex>` (run-id.ts); good enough where the runbook is not at hand. */
function runbookOfRunId(runId: string): string {
  const m = /^\d{8}T\d{6}Z-(.+)-[0-9a-f]{4}$/.exec(runId);
  return m ? m[1] : 'unknown';
}

export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, ':***@');
  }
}

function describeOpenError(e: Error & { code?: string }): string {
  const code = e.code ?? '';
  if (code === '28P01' || code === '28000') return `authentication failed (${e.message})`;
  if (code === '3D000') return `no such database (${e.message})`;
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH' || code === 'ETIMEDOUT' || /timeout/i.test(e.message)) return `cannot reach the server (${e.message})`;
  return e.message;
}

function currentUser(): string {
  try {
    return process.env.RUNBOOK_USER ?? userInfo().username;
  } catch {
    return process.env.USER ?? 'unknown';
  }
}

/** The compiled worker beside this module; from the sources (vitest), the one in dist/. */
function workerFile(): string {
  const file = builtModule(import.meta.url, 'worker.js');
  if (file) return file;
  throw new StateStoreError(`the PostgreSQL store's worker is missing (${fileURLToPath(new URL('worker.js', import.meta.url))}): build with npx tsc -p .`);
}
