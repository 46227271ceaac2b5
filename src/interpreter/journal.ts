/**
 * The run's append-only `journal.jsonl` (spec §6): one JSON event a line.
 *
 * Durability rule: `append` only buffers (control steps must stay cheap); `flush` writes every
 * buffered line with one write and fsyncs, and the interpreter calls it before any step with side
 * effects starts and at the end of the run. A crash can therefore only lose unflushed events of
 * pure control steps, or tear the last line — which `readJournal` ignores. Buffered lines are also
 * written (not fsync'd) a moment after they are appended, so `runbook attach` sees a step's output live.
 *
 * A journal that cannot be written (spec §12): at open, `reserveBytes` are set aside in a file
 * beside the journal. When a write fails with a full disk, the reserve is deleted, the write is
 * retried into the space it freed, and `onFailure` is told once: the runner starts no new step but
 * still rolls back, journaled into that space. Output lines are no longer journaled from then on
 * (they are what fills a disk), the events of the run's life are. If even that fails the journal is
 * dead: `flush` throws `JournalUnwritableError`, so no side effect starts unjournaled.
 */
import { closeSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { RunbookError } from '../dsl/errors.js';
import type { RunEvent } from './events.js';
import type { JournalFailure, JournalSink } from '../state/types.js';

/** Buffered bytes above which `append` writes (without fsync) so a long control-only stretch stays bounded in memory. */
const WRITE_THROUGH_CHARS = 1 << 20;
/** How soon appended lines are written (not fsync'd) for followers (`runbook attach`). */
const LIVE_WRITE_MS = 100;
/** Space set aside at run start for the rollback's events after a disk fills up (override: RUNBOOK_JOURNAL_RESERVE bytes). */
export const DEFAULT_RESERVE_BYTES = 32 * 1024;
/** Errors that mean "this journal cannot take more bytes", as opposed to a bug. */
const WRITE_FAILURES = new Set(['ENOSPC', 'EDQUOT', 'EIO', 'EFBIG', 'EROFS']);

/** The journal cannot be written even into the reserve: nothing with side effects may start. */
export class JournalUnwritableError extends Error {
  override readonly name = 'JournalUnwritableError';
}

export interface JournalOpenOptions {
  /** Bytes to set aside for the rollback's events (0: none). Default none; the Runner passes the run's reserve. */
  reserveBytes?: number;
  onFailure?: (failure: JournalFailure) => void;
}

export class JournalWriter implements JournalSink {
  private pending = '';
  /** Bytes of a write that failed part-way: written first at the next attempt, so no line is torn. */
  private unwritten: Buffer | undefined;
  private fd: number | undefined;
  private dirSynced = false;
  private timer: NodeJS.Timeout | undefined;
  private reserve: string | undefined;
  /** Reserve used: output lines are dropped. */
  private degraded = false;
  private dead: string | undefined;
  /** Bytes of whole lines in the file: a journal that dies mid-write is cut back to it. */
  private size: number;
  /** Bytes of a buffer written before its write failed (the file then ends mid-line). */
  private tornBytes = 0;

  private constructor(
    readonly path: string,
    fd: number,
    private readonly opts: JournalOpenOptions,
  ) {
    this.fd = fd;
    this.size = fstatSync(fd).size;
  }

  /** Open (creating folders and file) for appending; a torn last line left by a crash (see `readJournal`) is cut off first. */
  static open(file: string, opts: JournalOpenOptions = {}): JournalWriter {
    mkdirSync(dirname(file), { recursive: true });
    // a+: O_APPEND for writing, plus reading to inspect the tail a crash may have left.
    const fd = openSync(file, 'a+');
    try {
      cutTornTail(fd);
    } catch (error) {
      closeSync(fd);
      throw error;
    }
    const writer = new JournalWriter(file, fd, opts);
    if (opts.reserveBytes) {
      try {
        writer.reserve = makeReserve(`${file}.reserve`, opts.reserveBytes);
      } catch (error) {
        closeSync(fd);
        const code = (error as NodeJS.ErrnoException).code ?? '';
        throw new JournalUnwritableError(
          `cannot set aside ${opts.reserveBytes} bytes for the journal beside ${file} (${code || (error as Error).message}): free some space, or lower RUNBOOK_JOURNAL_RESERVE`,
        );
      }
    }
    return writer;
  }

  /** Buffer one event as a line; it reaches the disk at the next `flush`. */
  append(event: RunEvent): void {
    if (this.fd === undefined) throw new Error(`journal ${this.path} is closed`);
    if (this.dead) return;
    if (this.degraded && (event.type === 'step.output' || event.type === 'step.progress')) return;
    this.pending += JSON.stringify(event) + '\n';
    if (this.pending.length >= WRITE_THROUGH_CHARS) this.tryWrite();
    else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        if (this.fd !== undefined) this.tryWrite();
      }, LIVE_WRITE_MS);
      this.timer.unref();
    }
  }

  /** Write the buffered lines and fsync: when this returns, every appended event is on disk. */
  flush(): void {
    if (this.fd === undefined) throw new Error(`journal ${this.path} is closed`);
    if (!this.tryWrite(true)) throw new JournalUnwritableError(this.dead!);
  }

  /** Flush and close; further appends throw. */
  close(): void {
    if (this.fd === undefined) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    try {
      this.tryWrite(true);
    } finally {
      closeSync(this.fd);
      this.fd = undefined;
      this.dropReserve();
    }
  }

  /** Write (and fsync when asked); on a full disk use the reserve once. False when the journal is dead. */
  private tryWrite(sync = false): boolean {
    if (this.dead) return false;
    for (;;) {
      try {
        this.write();
        if (sync) this.sync();
        return true;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? '';
        if (!WRITE_FAILURES.has(code)) throw error;
        if (this.reserve !== undefined && code !== 'EIO' && code !== 'EROFS') {
          this.dropReserve();
          this.degraded = true;
          this.opts.onFailure?.({
            kind: 'unwritable',
            message: `the journal ${this.path} cannot grow (${code}): no new step starts; the rollback runs, journaled into the space reserved at run start (output lines are no longer journaled)`,
          });
          continue;
        }
        this.dead = `the journal ${this.path} cannot be written (${code}): nothing more is started`;
        this.pending = '';
        this.unwritten = undefined;
        // Never leave half a line: a torn tail would read as an event in flight. Shrinking needs no space.
        try {
          ftruncateSync(this.fd!, this.size);
        } catch {
          // the reader drops a torn last line anyway
        }
        this.opts.onFailure?.({ kind: 'unwritable', message: this.dead });
        return false;
      }
    }
  }

  private sync(): void {
    fsyncSync(this.fd!);
    if (!this.dirSynced) {
      // A new file's directory entry is only durable once the directory itself is synced.
      syncDirectory(dirname(this.path));
      this.dirSynced = true;
    }
  }

  private write(): void {
    if (this.pending !== '') {
      const bytes = Buffer.from(this.pending, 'utf8');
      this.pending = '';
      this.unwritten = this.unwritten ? Buffer.concat([this.unwritten, bytes]) : bytes;
    }
    if (!this.unwritten) return;
    const bytes = this.unwritten;
    // O_APPEND: each write lands at the end; loop because a write may be short (e.g. disk almost full).
    let offset = 0;
    try {
      while (offset < bytes.length) offset += writeSync(this.fd!, bytes, offset);
    } catch (error) {
      this.tornBytes += offset;
      throw error;
    } finally {
      this.unwritten = offset < bytes.length ? bytes.subarray(offset) : undefined;
    }
    this.size += this.tornBytes + bytes.length;
    this.tornBytes = 0;
  }

  private dropReserve(): void {
    if (this.reserve === undefined) return;
    try {
      unlinkSync(this.reserve);
    } catch {
      // already gone
    }
    this.reserve = undefined;
  }
}

/** The reserve: real blocks (zeros written and fsync'd; a sparse file would free nothing). */
function makeReserve(path: string, bytes: number): string {
  const fd = openSync(path, 'w');
  try {
    const block = Buffer.alloc(Math.min(bytes, 64 * 1024));
    for (let done = 0; done < bytes; ) done += writeSync(fd, block, 0, Math.min(block.length, bytes - done));
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    unlinkSync(path);
    throw error;
  }
  closeSync(fd);
  return path;
}

/** The reserve the Runner asks for: RUNBOOK_JOURNAL_RESERVE bytes, else the default. */
export function reserveBytesFrom(env: NodeJS.ProcessEnv): number {
  const v = Number(env.RUNBOOK_JOURNAL_RESERVE);
  return Number.isInteger(v) && v >= 0 && env.RUNBOOK_JOURNAL_RESERVE !== '' && env.RUNBOOK_JOURNAL_RESERVE !== undefined ? v : DEFAULT_RESERVE_BYTES;
}

/** `<stateDir>/runs/<runId>/journal.jsonl` */
export function journalPath(stateDir: string, runId: string): string {
  return join(stateDir, 'runs', runId, 'journal.jsonl');
}

/**
 * Read every event. The last line is torn when it lacks its newline or is not valid JSON (a crash
 * mid-write): it is skipped and `tornTail` says so. A bad line anywhere else is corruption:
 * a `RunbookError` with code `JOURNAL_CORRUPT` naming the file and line.
 */
export function readJournal(file: string): { events: RunEvent[]; tornTail: boolean } {
  const text = readFileSync(file, 'utf8');
  const lines = text.split('\n');
  // A complete file ends with '\n', so the last piece is ''; anything else there was never finished.
  let tornTail = lines.pop() !== '';
  const events: RunEvent[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const event = parseEvent(line);
    if (event !== undefined) {
      events.push(event);
      continue;
    }
    if (line.trim() === '') continue;
    // Only the very last line can be torn: a crash leaves no complete line after it.
    if (i === lines.length - 1 && !tornTail) {
      tornTail = true;
      continue;
    }
    throw new RunbookError({
      code: 'JOURNAL_CORRUPT',
      message: `journal line ${i + 1} is not a JSON event: ${line.length > 60 ? `${line.slice(0, 60)}…` : line}`,
      file,
      line: i + 1,
      col: 1,
    });
  }
  return { events, tornTail };
}

function parseEvent(line: string): RunEvent | undefined {
  if (line === '') return undefined;
  try {
    const value: unknown = JSON.parse(line);
    if (typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string') return value as RunEvent;
  } catch {
    // not JSON
  }
  return undefined;
}

/**
 * Cut a torn last line (no newline, or not a JSON event — what `readJournal` skips), so new events
 * are not glued onto it and it does not become a corrupt middle line.
 */
function cutTornTail(fd: number): void {
  const size = fstatSync(fd).size;
  if (size === 0) return;
  const complete = readByte(fd, size - 1) === 0x0a;
  const start = lineStart(fd, complete ? size - 1 : size);
  if (complete) {
    const line = Buffer.alloc(size - 1 - start);
    readSync(fd, line, 0, line.length, start);
    if (parseEvent(line.toString('utf8')) !== undefined || line.length === 0) return;
  }
  ftruncateSync(fd, start);
}

/** Offset just after the last newline before `end` (0 when there is none). */
function lineStart(fd: number, end: number): number {
  const block = Buffer.alloc(64 * 1024);
  while (end > 0) {
    const from = Math.max(0, end - block.length);
    const n = readSync(fd, block, 0, end - from, from);
    const at = block.subarray(0, n).lastIndexOf(0x0a);
    if (at >= 0) return from + at + 1;
    end = from;
  }
  return 0;
}

function readByte(fd: number, position: number): number {
  const byte = Buffer.alloc(1);
  readSync(fd, byte, 0, 1, position);
  return byte[0];
}

function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
