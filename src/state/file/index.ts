/**
 * The local store, `file:<dir>` (the default, spec §10): today's state dir. Journals are
 * `<dir>/runs/<id>/journal.jsonl` (fsync'd, §6), the run lock an exclusive file in `<dir>/locks/`,
 * history and reports read from the journals, `follow` tails the journal file.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { RunbookError } from '../../dsl/errors.js';
import type { RunEvent } from '../../interpreter/events.js';
import { JournalWriter, reserveBytesFrom } from '../../interpreter/journal.js';
import { acquireLock, readLock } from '../../interpreter/lock.js';
import type { AcquireOptions, FollowOptions, HolderInfo, JournalSink, OpenJournalOptions, RunLease, RunSummary, StateStore } from '../types.js';
import { lastRunner, processAlive } from '../liveness.js';
import { hasFileRun, journalPath, listFileRuns, readFileRun } from './read.js';
import { tailJournal } from './tail.js';

export class FileStore implements StateStore {
  readonly kind = 'file' as const;
  readonly label: string;

  constructor(readonly dir: string) {
    this.label = dir;
  }

  openJournal(runId: string, opts: OpenJournalOptions): JournalSink {
    return JournalWriter.open(journalPath(this.dir, runId), { reserveBytes: reserveBytesFrom(process.env), onFailure: opts.onFailure });
  }

  readRun(runId: string): RunEvent[] {
    return readFileRun(this.dir, runId);
  }

  hasRun(runId: string): boolean {
    return hasFileRun(this.dir, runId);
  }

  listRuns(runbookId?: string): RunSummary[] {
    return listFileRuns(this.dir, runbookId);
  }

  acquire(lockName: string, opts: AcquireOptions): RunLease {
    const lock = acquireLock(this.dir, lockName, { run: opts.run, runbook: opts.runbook });
    return {
      holder: lock.holder,
      epoch: 0,
      // A local lock file has no lease to lose: it lives as long as this process.
      onLost: () => {},
      lost: false,
      release: () => lock.release(),
    };
  }

  holder(lockName: string): HolderInfo | null {
    return readLock(this.dir, lockName);
  }

  isLive(runId: string): boolean {
    let events: RunEvent[];
    try {
      events = this.readRun(runId);
    } catch {
      return false;
    }
    if (events.some((e) => e.type === 'run.finished')) return false;
    const runner = lastRunner(events);
    return runner ? processAlive(runner.pid, runner.host) !== false : false;
  }

  follow(runId: string, onEvent: (event: RunEvent) => void, opts: FollowOptions = {}): Promise<void> {
    return tailJournal(journalPath(this.dir, runId), onEvent, { ...opts, isLive: () => this.isLive(runId) });
  }

  importRun(events: RunEvent[]): void {
    const runId = events[0]?.run;
    if (!runId) throw new RunbookError({ code: 'IMPORT', message: 'nothing to import: no events' });
    if (this.hasRun(runId)) throw new RunbookError({ code: 'IMPORT', message: `run ${runId} is already in ${this.label}` });
    const file = journalPath(this.dir, runId);
    mkdirSync(join(this.dir, 'runs', runId), { recursive: true });
    const journal = JournalWriter.open(file);
    for (const e of events) journal.append(e);
    journal.close();
  }

  reportFile(runId: string): string | undefined {
    return join(this.dir, 'runs', runId, 'report.md');
  }

  close(): void {}
}

