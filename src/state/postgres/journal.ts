/**
 * A run's journal in the shared store. `append` buffers; buffered rows go to the worker within
 * ~50 ms (so `attach` sees output live) and `flush` waits until every row is committed with
 * synchronous_commit on: the same rule as the file journal's fsync (spec §6, §10).
 *
 * Once the lease is lost nothing more reaches the journal: what was still buffered, and a `FENCED`
 * warning saying why this runner stops, are sent once, on close, as a conditional write (see the
 * worker's lastWords): kept when nobody took over, refused and kept aside when somebody did.
 */
import type { RunEvent } from '../../interpreter/events.js';
import { JournalUnwritableError } from '../../interpreter/journal.js';
import type { JournalFailure, JournalSink } from '../types.js';
import type { PostgresStore } from './index.js';
import type { Row } from './protocol.js';

const POST_MS = 50;
const POST_ROWS = 500;
const FLUSH_TIMEOUT_MS = 60_000;
/** Rows a fenced runner keeps for its last words. */
const LAST_WORDS_MAX = 1000;

/** The lease is lost: nothing with side effects may start (the runner exits 5). */
export class JournalFencedError extends Error {
  override readonly name = 'JournalFencedError';
}

export class PostgresJournal implements JournalSink {
  private pending: Row[] = [];
  private timer: NodeJS.Timeout | undefined;
  private failure: JournalFailure | undefined;
  private lastWords: Row[] | undefined;
  private closed = false;

  constructor(
    private readonly store: PostgresStore,
    readonly runId: string,
    private readonly epoch: number,
    private seq: number,
    private readonly onFailure?: (failure: JournalFailure) => void,
  ) {}

  append(event: RunEvent): void {
    if (this.closed) throw new Error(`journal of run ${this.runId} is closed`);
    if (!this.failure && this.store.lostNow()) this.fail({ kind: 'fenced', message: this.store.lostWhy() ?? 'the lease was lost' });
    if (this.failure) return;
    this.pending.push({ seq: ++this.seq, type: event.type, line: JSON.stringify(event) });
    if (this.pending.length >= POST_ROWS) this.post();
    else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        if (!this.failure && !this.closed) this.post();
      }, POST_MS);
      this.timer.unref();
    }
  }

  flush(): void {
    if (this.closed) throw new Error(`journal of run ${this.runId} is closed`);
    if (!this.failure && this.store.lostNow()) this.fail({ kind: 'fenced', message: this.store.lostWhy() ?? 'the lease was lost' });
    if (this.failure) throw this.errorOf(this.failure);
    this.post();
    try {
      this.store.call('flush', {}, FLUSH_TIMEOUT_MS, { stopOnLost: this.epoch > 0 });
    } catch (e) {
      const err = e as Error & { code?: string };
      this.fail({ kind: err.code === 'unwritable' ? 'unwritable' : 'fenced', message: this.store.lostWhy() ?? err.message });
      throw this.errorOf(this.failure!);
    }
  }

  close(): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    try {
      if (!this.failure) this.flush();
    } catch {
      // fail() has kept what it could for the last words
    }
    this.closed = true;
    if (this.lastWords?.length) {
      try {
        this.store.call('lastWords', { run: this.runId, epoch: this.epoch, rows: this.lastWords }, 10_000);
      } catch {
        // the store is gone: nothing more can be said
      }
    }
  }

  private post(): void {
    if (!this.pending.length) return;
    this.store.post('append', { run: this.runId, epoch: this.epoch, rows: this.pending });
    this.pending = [];
  }

  private fail(failure: JournalFailure): void {
    if (this.failure) return;
    this.failure = failure;
    if (failure.kind === 'fenced') {
      const warning = { ts: new Date().toISOString(), run: this.runId, type: 'warning', code: 'FENCED', message: `pid ${process.pid} stopped: ${failure.message}` };
      this.lastWords = [...this.pending.slice(0, LAST_WORDS_MAX), { seq: ++this.seq, type: 'warning', line: JSON.stringify(warning) }];
    }
    this.pending = [];
    this.onFailure?.(failure);
  }

  private errorOf(f: JournalFailure): Error {
    return f.kind === 'unwritable' ? new JournalUnwritableError(f.message) : new JournalFencedError(f.message);
  }
}
