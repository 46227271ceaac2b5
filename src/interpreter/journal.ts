/**
 * The run's append-only `journal.jsonl` (spec §6): one JSON event a line.
 *
 * Durability rule: `append` only buffers (control steps must stay cheap); `flush` writes every
 * buffered line with one write and fsyncs, and the interpreter calls it before any step with side
 * effects starts and at the end of the run. A crash can therefore only lose unflushed events of
 * pure control steps, or tear the last line — which `readJournal` ignores.
 */
import { closeSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { RunbookError } from '../dsl/errors.js';
import type { RunEvent } from './events.js';

/** Buffered bytes above which `append` writes (without fsync) so a long control-only stretch stays bounded in memory. */
const WRITE_THROUGH_CHARS = 1 << 20;

export class JournalWriter {
  private pending = '';
  private fd: number | undefined;
  private dirSynced = false;

  private constructor(
    readonly path: string,
    fd: number,
  ) {
    this.fd = fd;
  }

  /** Open (creating folders and file) for appending; a torn last line left by a crash (see `readJournal`) is cut off first. */
  static open(file: string): JournalWriter {
    mkdirSync(dirname(file), { recursive: true });
    // a+: O_APPEND for writing, plus reading to inspect the tail a crash may have left.
    const fd = openSync(file, 'a+');
    try {
      cutTornTail(fd);
    } catch (error) {
      closeSync(fd);
      throw error;
    }
    return new JournalWriter(file, fd);
  }

  /** Buffer one event as a line; it reaches the disk at the next `flush`. */
  append(event: RunEvent): void {
    if (this.fd === undefined) throw new Error(`journal ${this.path} is closed`);
    this.pending += JSON.stringify(event) + '\n';
    if (this.pending.length >= WRITE_THROUGH_CHARS) this.write();
  }

  /** Write the buffered lines and fsync: when this returns, every appended event is on disk. */
  flush(): void {
    if (this.fd === undefined) throw new Error(`journal ${this.path} is closed`);
    this.write();
    fsyncSync(this.fd);
    if (!this.dirSynced) {
      // A new file's directory entry is only durable once the directory itself is synced.
      syncDirectory(dirname(this.path));
      this.dirSynced = true;
    }
  }

  /** Flush and close; further appends throw. */
  close(): void {
    if (this.fd === undefined) return;
    try {
      this.flush();
    } finally {
      closeSync(this.fd);
      this.fd = undefined;
    }
  }

  private write(): void {
    if (this.pending === '') return;
    const bytes = Buffer.from(this.pending, 'utf8');
    this.pending = '';
    // O_APPEND: each write lands at the end; loop because a write may be short (e.g. disk almost full).
    for (let offset = 0; offset < bytes.length; ) offset += writeSync(this.fd!, bytes, offset);
  }
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
