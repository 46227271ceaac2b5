import { spawn } from 'node:child_process';
import { appendFileSync, closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RunbookError } from '../../src/dsl/errors.js';
import type { RunEvent } from '../../src/interpreter/events.js';
import { JournalWriter, journalPath, readJournal } from '../../src/interpreter/journal.js';
import { buildModules } from '../helpers/transpile.js';

const root = mkdtempSync(join(tmpdir(), 'journal-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshFile = () => journalPath(join(root, `state-${n++}`), 'run-1');

const ts0 = '2025-01-01T00:00:00.000Z';
const events: RunEvent[] = [
  { ts: ts0, run: 'run-1', type: 'phase.started', phase: 'prepare', budget_ms: 60000 },
  { ts: ts0, run: 'run-1', type: 'step.started', step: 'dump', phase: 'prepare', attempt: 1 },
  { ts: ts0, run: 'run-1', type: 'step.output', step: 'dump', stream: 'stdout', text: 'line with "quotes", ünïcødé and \n newline' },
  { ts: ts0, run: 'run-1', type: 'step.finished', step: 'dump', phase: 'prepare', status: 'succeeded', attempts: 1, duration_ms: 12, outputs: { size: 3 } },
];

/** Bytes of the file as another reader sees them, through its own file descriptor. */
function readThroughOtherFd(file: string): string {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(1 << 20);
    const bytes = readSync(fd, buf, 0, buf.length, 0);
    return buf.toString('utf8', 0, bytes);
  } finally {
    closeSync(fd);
  }
}

describe('journal', () => {
  it('puts it under <stateDir>/runs/<runId>/journal.jsonl', () => {
    expect(journalPath('/var/lib/runbook', '20250101-abc')).toBe('/var/lib/runbook/runs/20250101-abc/journal.jsonl');
  });

  it('round-trips events, one JSON line each', () => {
    const file = freshFile();
    const writer = JournalWriter.open(file);
    expect(writer.path).toBe(file);
    for (const e of events) writer.append(e);
    writer.close();
    expect(readJournal(file)).toEqual({ events, tornTail: false });
    expect(readFileSync(file, 'utf8').split('\n')).toHaveLength(events.length + 1);
  });

  it('buffers appends until flush, and flush puts them in the file', () => {
    const file = freshFile();
    const writer = JournalWriter.open(file);
    writer.append(events[0]);
    writer.append(events[1]);
    expect(readThroughOtherFd(file)).toBe('');
    writer.flush();
    expect(readThroughOtherFd(file)).toBe(`${JSON.stringify(events[0])}\n${JSON.stringify(events[1])}\n`);
    writer.append(events[2]);
    writer.flush();
    expect(readJournal(file).events).toEqual(events.slice(0, 3));
    writer.close();
    expect(() => writer.append(events[3])).toThrow(/closed/);
  });

  it('ignores a torn last line: no newline, or not JSON', () => {
    const file = freshFile();
    const writer = JournalWriter.open(file);
    for (const e of events.slice(0, 2)) writer.append(e);
    writer.close();
    appendFileSync(file, '{"ts":"2025-01-01T00:00:00.000Z","run":"run-1","type":"step.fin');
    expect(readJournal(file)).toEqual({ events: events.slice(0, 2), tornTail: true });
    // Even complete JSON without its newline was cut mid-write (the newline is part of the same write).
    writeFileSync(file, `${JSON.stringify(events[0])}\n${JSON.stringify(events[1])}`);
    expect(readJournal(file)).toEqual({ events: events.slice(0, 1), tornTail: true });
    // A crash can also leave a zero-filled tail.
    writeFileSync(file, `${JSON.stringify(events[0])}\n\0\0\0\0\n`);
    expect(readJournal(file)).toEqual({ events: events.slice(0, 1), tornTail: true });
  });

  it('reports a bad line in the middle with its line number', () => {
    const file = freshFile();
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, [JSON.stringify(events[0]), JSON.stringify(events[1]), 'garbage{', JSON.stringify(events[2]), ''].join('\n'));
    let error: unknown;
    try {
      readJournal(file);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RunbookError);
    expect((error as RunbookError).diagnostic).toMatchObject({ code: 'JOURNAL_CORRUPT', file, line: 3, message: 'journal line 3 is not a JSON event: garbage{' });
  });

  it('cuts a torn tail when reopened, so the next events start on their own line', () => {
    const file = freshFile();
    const first = JournalWriter.open(file);
    first.append(events[0]);
    first.close();
    appendFileSync(file, '{"ts":"2025-01-01T00:00:00.000Z","ru');
    const resumed = JournalWriter.open(file);
    resumed.append(events[1]);
    resumed.close();
    expect(readJournal(file)).toEqual({ events: events.slice(0, 2), tornTail: false });
  });

  it('reads back 50,000 appends to one file, in order', () => {
    const file = freshFile();
    const writer = JournalWriter.open(file);
    const started = events[1] as Extract<RunEvent, { type: 'step.started' }>;
    for (let i = 0; i < 50_000; i++) writer.append({ ...started, attempt: i });
    writer.close();
    // The cost per append is measured in bench/interpreter.mjs, not asserted here.
    const back = readJournal(file).events as Array<{ attempt: number }>;
    expect(back).toHaveLength(50_000);
    expect(back.every((e, i) => e.attempt === i)).toBe(true);
  });

  it('keeps every flushed event when the writing process is killed', async () => {
    const dir = join(root, 'crash');
    buildModules(dir, ['dsl/errors.ts', 'interpreter/journal.ts']);
    const file = freshFile();
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { JournalWriter } from ${JSON.stringify(join(dir, 'interpreter/journal.js'))};
         const [file, flushed, unflushed] = JSON.parse(process.argv[1]);
         const w = JournalWriter.open(file);
         for (const e of flushed) w.append(e);
         w.flush();
         for (const e of unflushed) w.append(e);
         process.stdout.write('flushed\\n');
         setInterval(() => {}, 1000);`,
        JSON.stringify([file, events.slice(0, 3), events.slice(3)]),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => d.toString().includes('flushed') && resolve());
      child.on('exit', (code) => reject(new Error(`child exited early with ${code}`)));
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    // Flushed events survive; the appended-but-unflushed one was only in the dead process's memory.
    expect(readJournal(file)).toEqual({ events: events.slice(0, 3), tornTail: false });
  });
});

