/**
 * The file journal on a full disk (spec §12), on a real 64k tmpfs: the reserve set aside at open is
 * freed at the first ENOSPC and the write lands in it (no torn line, output lines dropped from then
 * on); when the disk fills again the journal is dead and `flush` throws, so no side effect starts.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/interpreter/events.js';
import { JournalUnwritableError, JournalWriter } from '../../src/interpreter/journal.js';
import type { JournalFailure } from '../../src/state/types.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn('skipping the full-disk journal test: mounting a tmpfs needs root');
let root: string;
let mnt: string;
beforeAll(() => {
  if (!isRoot) return;
  root = mkdtempSync(join(tmpdir(), 'journal-full-'));
  mnt = join(root, 'mnt');
  mkdirSync(mnt);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt]);
});
afterAll(() => {
  if (!isRoot) return;
  execFileSync('umount', [mnt]);
  rmSync(root, { recursive: true, force: true });
});

/** Fill what is left of the filesystem with a file (ENOSPC stops it). */
function fill(name: string): void {
  try {
    writeFileSync(join(mnt, name), Buffer.alloc(128 * 1024));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  }
}

const ev = (i: number, text = 'x'.repeat(1500)): RunEvent => ({ ts: '2026-01-01T00:00:00.000Z', run: 'r', type: 'step.output', step: `s${i}`, stream: 'stdout', text });
const started = (i: number): RunEvent => ({ ts: '2026-01-01T00:00:00.000Z', run: 'r', type: 'step.started', step: `s${i}`, phase: 'main', attempt: 1 });

describe.skipIf(!isRoot)('journal on a full disk', () => {
  it('uses the reserve once, then refuses to flush', () => {
    const failures: JournalFailure[] = [];
    const file = join(mnt, 'runs', 'r', 'journal.jsonl');
    const j = JournalWriter.open(file, { reserveBytes: 16 * 1024, onFailure: (f) => failures.push(f) });
    expect(existsSync(`${file}.reserve`)).toBe(true);
    fill('filler-1');
    for (let i = 0; i < 4; i++) j.append(ev(i));
    j.append(started(99));
    j.flush();
    expect(failures).toHaveLength(1);
    expect(failures[0].message).toMatch(/cannot grow \(ENOSPC\): no new step starts; the rollback runs/);
    expect(existsSync(`${file}.reserve`)).toBe(false);
    // Degraded: output is no longer journaled, the run's life is.
    j.append(ev(100));
    j.append(started(101));
    j.flush();
    let text = readFileSync(file, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    const lines = text.trim().split('\n').map((l) => JSON.parse(l) as RunEvent);
    expect(lines.filter((e) => e.type === 'step.started').map((e) => (e as { step: string }).step)).toEqual(['s99', 's101']);
    expect(lines.some((e) => (e as { step?: string }).step === 's100')).toBe(false);

    fill('filler-2');
    for (let i = 200; i < 260; i++) j.append(started(i));
    expect(() => j.flush()).toThrow(JournalUnwritableError);
    expect(failures).toHaveLength(2);
    expect(failures[1].message).toMatch(/cannot be written \(ENOSPC\): nothing more is started/);
    j.close();
    text = readFileSync(file, 'utf8');
    // Whatever did land is whole lines: a torn tail would look like an event in flight.
    expect(text.endsWith('\n')).toBe(true);
    for (const l of text.trim().split('\n')) JSON.parse(l);
  });
});
