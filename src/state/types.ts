/**
 * Where a run's state lives (spec §10): the journal, the run lock or lease, history and reports.
 * The interpreter and the commands hold only this interface; `file:` and `postgres:` implement it.
 *
 * Everything but `follow` is synchronous on purpose: a journal flush must be durable before a side
 * effect starts, the way `fsync` is (spec §6). The PostgreSQL store keeps its connections in a worker
 * thread and waits for its commit, so a commit blocks the caller exactly like an fsync does.
 */
import type { RunEvent } from '../interpreter/events.js';
import type { RunSummary } from './summary.js';

export type { RunSummary } from './summary.js';

/** Who holds a run's lock or lease. */
export interface HolderInfo {
  pid: number;
  host: string;
  user: string;
  /** ISO time the lock or lease was taken. */
  started_at: string;
  run: string;
  runbook: string;
}

/** Why a journal stopped accepting events. `fenced`: another runner took the run over (exit 5). */
export interface JournalFailure {
  kind: 'fenced' | 'unwritable';
  message: string;
}

/** The append side of one run's journal. */
export interface JournalSink {
  /** Buffer one event; it is durable after the next `flush`. */
  append(event: RunEvent): void;
  /** Make every appended event durable (fsync or commit). Throws `JournalFencedError` once fenced. */
  flush(): void;
  /** Flush and close (idempotent). */
  close(): void;
}

export interface OpenJournalOptions {
  /** The lease epoch the writes carry; the store rejects an older one (0 when the run holds no lease, e.g. a dry run). */
  epoch: number;
  /** The runbook id (the shared store lists runs by it). */
  runbook?: string;
  /** Called once, synchronously, when the journal cannot take writes (fenced, or disk full past the reserve). */
  onFailure?: (failure: JournalFailure) => void;
}

/** A held run lock (file store) or lease (shared store). */
export interface RunLease {
  holder: HolderInfo;
  /** Goes up at every takeover; the journal's writes carry it. 0 for the file store. */
  epoch: number;
  /** Called once when the lease is lost (heartbeat failed or ran late): the runner must stop and exit 5. */
  onLost(listener: (reason: string) => void): void;
  /** True once the lease is lost. */
  readonly lost: boolean;
  /** Give it up (idempotent). */
  release(): void;
}

export interface AcquireOptions {
  run: string;
  runbook: string;
  /** Lease length (shared store); the file lock has none. */
  leaseMs: number;
  /** Resuming `run`: a lease of that same run whose holder is gone may be taken over. */
  resume: boolean;
  /** Told what we are waiting for (a lease that has to pass before a takeover). */
  onWait?: (message: string) => void;
}

export interface FollowOptions {
  signal?: AbortSignal;
  /** Called with a one-line note when the run has no live holder any more (it will not finish by itself). */
  onStale?: (message: string) => void;
}

export interface StateStore {
  /** `file` or `postgres`. */
  readonly kind: 'file' | 'postgres';
  /** What to show a user (the folder, or the URL without its password). */
  readonly label: string;
  /** Open a run's journal for appending (creating it). */
  openJournal(runId: string, opts: OpenJournalOptions): JournalSink;
  /** Every event of a run; throws `RunbookError` code `RUN_NOT_FOUND` when there is none. */
  readRun(runId: string): RunEvent[];
  hasRun(runId: string): boolean;
  /** Every run (of one runbook when given), newest `run.started` first. */
  listRuns(runbookId?: string): RunSummary[];
  /** Take the lock named by the runbook's `lock`; throws `LockHeldError` (exit 4) when another live run holds it. */
  acquire(lockName: string, opts: AcquireOptions): RunLease;
  /** The current holder of a lock, or null. */
  holder(lockName: string): HolderInfo | null;
  /** Is anybody still running this run (a live lock holder or a fresh lease)? */
  isLive(runId: string): boolean;
  /** The events so far, then new ones as they are written, until `run.finished` (or the signal aborts). */
  follow(runId: string, onEvent: (event: RunEvent) => void, opts?: FollowOptions): Promise<void>;
  /** Store a whole run's events (an import); throws when the run exists already. */
  importRun(events: RunEvent[]): void;
  /** Where the run's rendered report is kept, when the store has a folder for it. */
  reportFile(runId: string): string | undefined;
  close(): void;
}
