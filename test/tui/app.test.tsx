import './force-color.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { render, cleanup } from 'ink-testing-library';
import { App } from '../../src/tui/components/app.js';
import { RunStore } from '../../src/tui/store.js';
import { createTuiDecider } from '../../src/tui/decider.js';
import type { RunEvent } from '../../src/interpreter/events.js';
import type { DecisionRequest } from '../../src/interpreter/decisions.js';
import { T0, eventsUntil, frameLines, loadJournal, settle, stripAnsi, useFakeClock } from './helpers.js';

process.env.TZ = 'UTC';

const KEY = { up: '\u001B[A', down: '\u001B[B', pageUp: '\u001B[5~', pageDown: '\u001B[6~', enter: '\r', ctrlC: '\u0003' };
const RED = '\u001b[31m';
const YELLOW = '\u001b[33m';

afterEach(() => {
  cleanup();
  vi.useRealTimers();
});

const journal = loadJournal();

function mount(opts: { predicted?: { run_ms?: number; phases?: Record<string, number> } } = {}) {
  const store = new RunStore();
  const interrupts: number[] = [];
  const ui = render(<App store={store} onInterrupt={(n) => interrupts.push(n)} predicted={opts.predicted} />);
  const frame = () => frameLines(ui.lastFrame());
  const pushAll = (events: RunEvent[]) => events.forEach((e) => store.push(e));
  return { store, ui, interrupts, frame, pushAll };
}

/** Type keys one at a time, letting each frame commit. */
async function press(ui: ReturnType<typeof mount>['ui'], ...keys: string[]) {
  for (const k of keys) {
    ui.stdin.write(k);
    await settle(60);
  }
}

describe('running', () => {
  it('shows the header, every phase with its timer against its budget, and the running steps with attempt and live output', async () => {
    useFakeClock(T0);
    const { frame, pushAll } = mount({ predicted: { run_ms: 240_000, phases: { restore: 90_000 } } });
    pushAll(eventsUntil(journal, (e) => e.type === 'step.output', 2));
    vi.setSystemTime(T0 + 45_300);
    await settle(300);
    const lines = frame();
    expect(lines[0]).toBe('Database corruption — restore from the latest backup  P0  run 20240501-120000-a1b2');
    expect(lines[1]).toBe('RTO 45s / 5m  ███░░░░░░░░░░░░░░░░░ 15%  4m 15s left  · predicted 4m 00s (ends ~12:04:00)');
    expect(lines).toContain('  ● detect   Detection & assessment          45s / 1m');
    expect(lines).toContain('  ○ restore  Restore from backup             – / 2m  est 1m 30s');
    expect(lines).toContain('Steps · detect — Detection & assessment');
    expect(lines).toContain(' ● check-db      Check the database answers sql     1/1     45s   SELECT count(*) FROM trades → 1 …');
    expect(lines).toContain(' ● check-backups Find the latest backup     s3      1/1     45s   latest: postgresql/full/2024-05-…');
    expect(lines).toContain(' ○ assess        Assess the damage          shell');
    // the log pane follows the step that printed last
    expect(lines.find((l) => l.startsWith('── '))).toMatch(/^── check-db · output \(follow\) ─+$/);
    expect(lines).toContain('  SELECT count(*) FROM trades → 1 row');
  });

  it('shows transfer progress with a bar and rate, the retry attempt, and ↺ on steps with a rollback', async () => {
    useFakeClock(T0);
    const { frame, pushAll } = mount();
    pushAll(eventsUntil(journal, (e) => e.type === 'step.progress'));
    vi.setSystemTime(T0 + 6_000);
    await settle(300);
    expect(frame()).toContain(' ✓ stop-app   Stop the trading service  docker  1/1    2.0s ↺ stopping trading-service (grace 10s)');
    expect(frame()).toContain(' ● download   Download the backup       s3      1/2      2s   █████░░░░░ 200/412 MiB · 100 MiB/s');
    pushAll(eventsUntil(journal, (e) => e.type === 'step.started' && e.step === 'restore-db', 2).slice(eventsUntil(journal, (e) => e.type === 'step.progress').length));
    // elapsed counts from the first attempt: the step's duration covers all its attempts
    vi.setSystemTime(T0 + 12_700);
    await settle(300);
    expect(frame()).toContain(' ● restore-db Restore the database      shell   2/3      4s ↺ pg_restore: error: could not execute…');
  });

  it('lets the operator pick a step with ↑/↓, scroll its log with PgUp/PgDn, and follow again with f', async () => {
    useFakeClock(T0);
    const { ui, frame, pushAll } = mount();
    pushAll(eventsUntil(journal, (e) => e.type === 'step.output', 2));
    for (let i = 1; i <= 40; i++) pushAll([{ ts: '2024-05-01T12:00:00.400Z', run: 'r', type: 'step.output', step: 'check-db', stream: 'stdout', text: `row ${i}\n` }]);
    await settle(100);
    expect(frame()).toContain('  row 40');
    await press(ui, KEY.down);
    expect(frame().find((l) => l.startsWith('── '))).toMatch(/^── check-backups · output \(selected · f follow\) ─+$/);
    expect(frame()).toContain('›● check-backups Find the latest backup     s3      1/1      0s   latest: postgresql/full/2024-05-…');
    await press(ui, KEY.up);
    expect(frame().find((l) => l.startsWith('── '))).toMatch(/^── check-db · output/);
    await press(ui, KEY.pageUp);
    expect(frame().find((l) => l.startsWith('── '))).toMatch(/^── check-db · output \(scrolled 15 up · f follow\)/);
    expect(frame()).toContain('  row 25');
    expect(frame()).not.toContain('  row 40');
    await press(ui, KEY.pageDown);
    expect(frame()).toContain('  row 40');
    await press(ui, 'f');
    expect(frame().find((l) => l.startsWith('── '))).toMatch(/^── check-db · output \(follow\)/);
  });
});

describe('budgets', () => {
  it('turns a phase timer yellow past 80 % and red past 100 % of its budget, with an "over by" marker', async () => {
    useFakeClock(T0);
    const { ui, frame, pushAll } = mount();
    pushAll(eventsUntil(journal, (e) => e.type === 'step.output', 2));
    vi.setSystemTime(T0 + 50_010);
    await settle(300);
    expect(ui.lastFrame()).toContain(`${YELLOW}50s / 1m`);
    vi.setSystemTime(T0 + 75_010);
    await settle(300);
    expect(ui.lastFrame()).toContain(`\u001b[1m${RED}1m 15s / 1m`);
    expect(frame()).toContain('  ● detect   Detection & assessment          1m 15s / 1m over by 15s');
  });

  it('marks the RTO exceeded in red', async () => {
    useFakeClock(T0);
    const { ui, frame, pushAll } = mount();
    pushAll(eventsUntil(journal, (e) => e.type === 'step.output', 2));
    vi.setSystemTime(T0 + 250_000);
    await settle(300);
    expect(ui.lastFrame()).toContain(`\u001b[1m${YELLOW}4m 10s / 5m`);
    vi.setSystemTime(T0 + 330_000);
    await settle(300);
    expect(frame()[1]).toBe('RTO 5m 30s / 5m  ████████████████████ 110%  EXCEEDED by 30s');
    expect(ui.lastFrame()).toContain(`\u001b[1m${RED}5m 30s / 5m`);
  });
});

describe('decisions', () => {
  it('shows a failure with its file:line:col and answers retry/skip/ignore/abort from keys', async () => {
    useFakeClock(T0);
    const { ui, store, frame, pushAll } = mount();
    pushAll(eventsUntil(journal, (e) => e.type === 'step.finished' && e.step === 'restore-db'));
    const decider = createTuiDecider(store, 'alice');
    expect(decider).toMatchObject({ interactive: true, user: 'alice' });
    const failure = { kind: 'failure', step: 'restore-db', error: 'exit code 1: pg_restore failed', where: 'runbooks/database-corruption.yaml:64:7' } as const;
    const answer = decider.decide(failure, new AbortController().signal);
    await settle(60);
    const lines = frame();
    expect(lines).toContain('│ ✗ restore-db failed: exit code 1: pg_restore: error: could not execute query: ERROR:  relation   │');
    expect(lines).toContain('│ at runbooks/database-corruption.yaml:64:7                                                        │');
    expect(lines).toContain('│ ✗ restore-db failed                                                                              │');
    // what each answer does, on screen: skip and ignore differ in what the step is recorded as
    expect(lines).toContain('│ [r] retry   run the step again now                                                               │');
    expect(lines).toContain('│ [s] skip    record the step as skipped and go on (steps that test it see skipped)                │');
    expect(lines).toContain('│ [i] ignore  keep it failed and go on, as on_failure: continue would                              │');
    expect(lines).toContain('│ [a] abort   fail the run and roll back (per the rollback policy)                                 │');
    await press(ui, 'x', KEY.enter);
    expect(frame()).toContain('│ [r] retry   run the step again now                                                               │');
    await press(ui, 'r');
    await expect(answer).resolves.toEqual({ kind: 'failure', action: 'retry' });
    expect(frame().some((l) => l.includes('[r] retry'))).toBe(false);
    for (const [key, action] of [['s', 'skip'], ['i', 'ignore'], ['a', 'abort']] as const) {
      const p = decider.decide(failure, new AbortController().signal);
      await settle(60);
      await press(ui, key);
      await expect(p).resolves.toEqual({ kind: 'failure', action });
    }
  });

  it('--step shows what will run and answers enter/s/a/c', async () => {
    useFakeClock(T0);
    const { ui, store, frame, pushAll } = mount();
    pushAll(eventsUntil(journal, (e) => e.type === 'phase.started'));
    const decider = createTuiDecider(store, 'alice');
    const req = { kind: 'step', step: 'check-db', rendered: 'sql (db):\n  SELECT count(*) FROM trades' } as const;
    const p = decider.decide(req, new AbortController().signal);
    await settle(60);
    expect(frame()).toContain('│ Next step: check-db — Check the database answers                                                 │');
    expect(frame()).toContain('│     SELECT count(*) FROM trades                                                                  │');
    expect(frame()).toContain('│ [enter] run  [s] skip  [a] abort  [c] continue without stepping                                  │');
    await press(ui, KEY.enter);
    await expect(p).resolves.toEqual({ kind: 'step', action: 'run' });
    for (const [key, action] of [['s', 'skip'], ['a', 'abort'], ['c', 'continue']] as const) {
      const q = decider.decide(req, new AbortController().signal);
      await settle(60);
      await press(ui, key);
      await expect(q).resolves.toEqual({ kind: 'step', action });
    }
  });

  it('confirm answers y/n; inflight answers r/s', async () => {
    useFakeClock(T0);
    const { ui, store, frame, pushAll } = mount();
    pushAll(eventsUntil(journal, (e) => e.type === 'phase.started', 2));
    const decider = createTuiDecider(store, 'alice');
    const yes = decider.decide({ kind: 'confirm', step: 'stop-app', message: 'Stop trading-service in staging?', timeout_ms: 60_000 }, new AbortController().signal);
    await settle(60);
    expect(frame()).toContain('│ Stop trading-service in staging?                                                                 │');
    expect(frame()).toContain('│ times out in 1m 00s                                                                              │');
    expect(frame()).toContain('│ [y] yes  [n] no                                                                                  │');
    await press(ui, 'y');
    await expect(yes).resolves.toEqual({ kind: 'confirm', approved: true });
    const no = decider.decide({ kind: 'confirm', step: 'stop-app', message: 'Stop?' }, new AbortController().signal);
    await settle(60);
    await press(ui, 'n');
    await expect(no).resolves.toEqual({ kind: 'confirm', approved: false });
    const rerun = decider.decide({ kind: 'inflight', step: 'restore-db' }, new AbortController().signal);
    await settle(60);
    expect(frame()).toContain('│ restore-db was running when the previous process died and is not idempotent                      │');
    await press(ui, 'r');
    await expect(rerun).resolves.toEqual({ kind: 'inflight', action: 'rerun' });
    // The question says which of the step's processes resume will kill (control bytes escaped).
    const skip = decider.decide({ kind: 'inflight', step: 'restore-db', running: ['pid 4242 pg_restore -d trading\x1b[2J'] }, new AbortController().signal);
    await settle(60);
    expect(frame()).toContain('│ still running, resume kills them: pid 4242 pg_restore -d trading\\x1b[2J                          │');
    await press(ui, 's');
    await expect(skip).resolves.toEqual({ kind: 'inflight', action: 'skip' });
  });

  it('rollback prompt: space toggles the step under the cursor, n none, a all, enter confirms', async () => {
    useFakeClock(T0);
    const { ui, store, frame, pushAll } = mount();
    pushAll(eventsUntil(journal, (e) => e.type === 'phase.finished', 2));
    const decider = createTuiDecider(store, 'alice');
    const req: DecisionRequest = { kind: 'rollback', steps: ['restore-db', 'download', 'stop-app'] };
    const p = decider.decide(req, new AbortController().signal);
    await settle(60);
    expect(frame()).toContain('│ › [x] restore-db                                                                                 │');
    await press(ui, KEY.down, ' ');
    expect(frame()).toContain('│ › [ ] download                                                                                   │');
    expect(frame()).toContain('│   [x] stop-app                                                                                   │');
    await press(ui, KEY.enter);
    await expect(p).resolves.toEqual({ kind: 'rollback', steps: ['restore-db', 'stop-app'] });
    const none = decider.decide(req, new AbortController().signal);
    await settle(60);
    await press(ui, 'n', KEY.enter);
    await expect(none).resolves.toEqual({ kind: 'rollback', steps: [] });
    const all = decider.decide(req, new AbortController().signal);
    await settle(60);
    await press(ui, 'n', 'a', KEY.enter);
    await expect(all).resolves.toEqual({ kind: 'rollback', steps: ['restore-db', 'download', 'stop-app'] });
    // keys typed faster than frames are drawn still count, each on top of the last
    const fast = decider.decide(req, new AbortController().signal);
    await settle(60);
    for (const k of [KEY.down, KEY.down, ' ', KEY.up, ' ', KEY.enter]) ui.stdin.write(k);
    await expect(fast).resolves.toEqual({ kind: 'rollback', steps: ['restore-db'] });
  });

  it('withdraws the prompt when the request is aborted, and queues concurrent questions', async () => {
    useFakeClock(T0);
    const { ui, store, frame, pushAll } = mount();
    pushAll(eventsUntil(journal, (e) => e.type === 'phase.started', 2));
    const decider = createTuiDecider(store, 'alice');
    const ac = new AbortController();
    const first = decider.decide({ kind: 'confirm', step: 'stop-app', message: 'First?' }, ac.signal);
    const second = decider.decide({ kind: 'confirm', step: 'download', message: 'Second?' }, new AbortController().signal);
    await settle(60);
    expect(frame()).toContain('│ First?                                                                                           │');
    expect(frame()).toContain('│ (1 more question waiting)                                                                        │');
    ac.abort(new Error('step cancelled'));
    await expect(first).rejects.toThrow('step cancelled');
    await settle(60);
    expect(frame()).toContain('│ Second?                                                                                          │');
    await press(ui, 'y');
    await expect(second).resolves.toEqual({ kind: 'confirm', approved: true });
    expect(frame().some((l) => l.includes('[y] yes'))).toBe(false);
    await expect(decider.decide({ kind: 'confirm', step: 'x', message: 'x' }, AbortSignal.abort(new Error('already')))).rejects.toThrow('already');
  });

  it('Ctrl-C calls onInterrupt with the count and says what happens next', async () => {
    useFakeClock(T0);
    const { ui, interrupts, frame, pushAll } = mount();
    pushAll(eventsUntil(journal, (e) => e.type === 'phase.started', 2));
    await press(ui, KEY.ctrlC);
    expect(interrupts).toEqual([1]);
    expect(frame()).toContain('Ctrl-C: aborting and rolling back — press Ctrl-C again to abort without rollback');
    await press(ui, KEY.ctrlC);
    expect(interrupts).toEqual([1, 2]);
    expect(frame()).toContain('Ctrl-C ×2: aborting without rollback');
  });
});

describe('rollback and the end', () => {
  it('shows rollbacks in reverse order of start with their statuses while rolling back', async () => {
    useFakeClock(T0);
    const { frame, pushAll } = mount();
    pushAll(eventsUntil(journal, (e) => e.type === 'rollback.finished'));
    vi.setSystemTime(T0 + 18_935);
    await settle(300);
    let lines = frame();
    const at = lines.indexOf('↺ Rolling back');
    expect(at).toBeGreaterThan(0);
    expect(lines.slice(at + 1, at + 3)).toEqual(['  ✓ restore-db  succeeded 900ms', '  ○ stop-app    pending']);
    expect(lines).toContain('│ at runbooks/database-corruption.yaml:64:7                                                        │');
    pushAll(eventsUntil(journal, (e) => e.type === 'rollback.started', 2).slice(-1));
    vi.setSystemTime(T0 + 21_000);
    await settle(300);
    lines = frame();
    expect(lines.slice(at + 1, at + 3)).toEqual(['  ✓ restore-db  succeeded 900ms', '  ● stop-app    running 2s']);
  });

  it('ends with a summary: status, duration against the RTO, phases against budgets with their steps, the report', async () => {
    useFakeClock(T0);
    const { store, frame, pushAll } = mount();
    pushAll(journal);
    store.finish('.runbook/runs/20240501-120000-a1b2/report.md');
    await settle(60);
    const lines = frame();
    expect(lines[1]).toBe('RTO 20.5s / 5m  █░░░░░░░░░░░░░░░░░░░ 7%');
    expect(lines).toContain('  ✓ detect   Detection & assessment          2.0s / 1m ✓');
    expect(lines).toContain('↺ Rollbacks');
    expect(lines).toContain('  ✓ stop-app    succeeded 1.5s');
    expect(lines).toContain('║ ↺ Run rolled back in 20.5s / RTO 5m ✓ met                                                        ║');
    expect(lines).toContain('║ ✓ detect  2.0s / 1m ✓          ✓ check-db ✓ check-backups ✓ assess                               ║');
    expect(lines).toContain('║ ✗ restore 16.0s / 2m ✓         ✓ stop-app ✓ download ✗ restore-db ○ start-app                    ║');
    expect(lines).toContain('║ Report: .runbook/runs/20240501-120000-a1b2/report.md                                             ║');
    // the log pane and key help are gone: the last frame stays on the terminal
    expect(lines.some((l) => l.startsWith('── ') || l.includes('Ctrl-C abort'))).toBe(false);
    expect(stripAnsi(frame().join('\n'))).toContain('12:00:02 ? stop-app: approved by alice — Stop trading-service in staging?');
  });
});
