import { describe, expect, it } from 'vitest';
import { EventEmitter } from 'node:events';
import { startTui } from '../../src/tui/index.js';
import { loadJournal, stripAnsi } from './helpers.js';

/** A terminal's output side: what ink writes, 100 columns wide. */
class FakeStdout extends EventEmitter {
  chunks: string[] = [];
  isTTY = true;
  columns = 100;
  rows = 40;
  write = (chunk: string) => {
    this.chunks.push(chunk);
    return true;
  };
  get text() {
    return stripAnsi(this.chunks.join(''));
  }
}

/** A terminal's input side in raw mode: keys arrive as 'readable'. */
class FakeStdin extends EventEmitter {
  isTTY = true;
  rawMode = false;
  private data: string | null = null;
  write(data: string) {
    this.data = data;
    this.emit('readable');
    this.emit('data', data);
  }
  read = () => {
    const d = this.data;
    this.data = null;
    return d;
  };
  setEncoding() {}
  setRawMode(on: boolean) {
    this.rawMode = on;
  }
  resume() {}
  pause() {}
  ref() {}
  unref() {}
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, what: string, ms = 2000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await wait(10);
  }
}

describe('startTui', () => {
  it('draws pushed events, answers through the decider, reports Ctrl-C, and leaves the summary on screen', async () => {
    const stdout = new FakeStdout();
    const stdin = new FakeStdin();
    const tui = await startTui({
      stepMode: true,
      yes: false,
      user: 'alice',
      stdout: stdout as unknown as NodeJS.WriteStream,
      stdin: stdin as unknown as NodeJS.ReadStream,
    });
    expect(tui.decider).toMatchObject({ interactive: true, user: 'alice' });
    const interrupts: number[] = [];
    tui.onInterrupt((n) => interrupts.push(n));

    const journal = loadJournal();
    const cut = journal.findIndex((e) => e.type === 'step.finished' && e.step === 'restore-db');
    journal.slice(0, cut + 1).forEach((e) => tui.push(e));
    await until(() => stdout.text.includes('Steps · restore — Restore from backup'), 'the restore phase');
    expect(stdin.rawMode).toBe(true);

    const answer = tui.decider.decide({ kind: 'failure', step: 'restore-db', error: 'exit code 1', where: 'runbooks/database-corruption.yaml:64:7' }, new AbortController().signal);
    await until(() => stdout.text.includes('[a] abort   fail the run and roll back'), 'the failure prompt');
    stdin.write('a');
    await expect(answer).resolves.toEqual({ kind: 'failure', action: 'abort' });

    stdin.write('\u0003');
    await until(() => interrupts.length === 1, 'Ctrl-C');
    expect(interrupts).toEqual([1]);

    journal.slice(cut + 1).forEach((e) => tui.push(e));
    const start = Date.now();
    await tui.finish({ reportPath: '.runbook/runs/20240501-120000-a1b2/report.md' });
    expect(Date.now() - start).toBeLessThan(1000);
    const last = stdout.text.slice(stdout.text.lastIndexOf('Database corruption — restore'));
    expect(last).toContain('↺ Run rolled back in 20.5s / RTO 5m ✓ met');
    expect(last).toContain('Report: .runbook/runs/20240501-120000-a1b2/report.md');
    // the terminal is handed back: raw mode off
    expect(stdin.rawMode).toBe(false);
  });
});

describe('startTui without a terminal on stdin', () => {
  it('still draws, but answers as a non-interactive run (--yes approves) instead of waiting for keys', async () => {
    const stdout = new FakeStdout();
    const stdin = new FakeStdin();
    stdin.isTTY = false;
    const tui = await startTui({ stepMode: false, yes: true, user: 'ci', stdout: stdout as unknown as NodeJS.WriteStream, stdin: stdin as unknown as NodeJS.ReadStream });
    expect(tui.decider).toMatchObject({ interactive: false, user: 'ci' });
    await expect(tui.decider.decide({ kind: 'confirm', step: 's', message: 'ok?' }, new AbortController().signal)).resolves.toEqual({ kind: 'confirm', approved: true });
    loadJournal().forEach((e) => tui.push(e));
    await tui.finish({});
    expect(stdin.rawMode).toBe(false);
    expect(stdout.text).toContain('↺ Run rolled back in 20.5s / RTO 5m ✓ met');
  });
});
