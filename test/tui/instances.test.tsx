/**
 * The TUI over v2 journals (spec §8): rows keyed by instance address, items under their step,
 * sub-runbook steps under the item that runs them, each with its own state; a resumed run's header
 * and phase clocks from the original start; the header at 80 columns; prompts with the whole body.
 */
import './force-color.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { render, cleanup } from 'ink-testing-library';
import { App } from '../../src/tui/components/app.js';
import { Header } from '../../src/tui/components/header.js';
import { RunStore } from '../../src/tui/store.js';
import { createTuiDecider } from '../../src/tui/decider.js';
import { createState, reduceAll } from '../../src/tui/state.js';
import { describeItems, listPhaseSteps, listRollbacks, rowLabel } from '../../src/tui/views.js';
import type { RunEvent } from '../../src/interpreter/events.js';
import { eventsUntil, frameLines, settle, useFakeClock } from './helpers.js';
import { eventsOf, resumedRollingRun, rollingRun } from '../report/journals-v2.js';

process.env.TZ = 'UTC';

afterEach(() => {
  cleanup();
  vi.useRealTimers();
});

const T1 = Date.parse('2026-12-01T10:00:00.000Z');
const rolling = eventsOf(rollingRun());
const untilPoll = (n: number) => eventsUntil(rolling, (e) => e.type === 'step.output' && e.step === 'restart-each[1].healthy', n);

function mount(events: RunEvent[]) {
  const store = new RunStore();
  const ui = render(<App store={store} onInterrupt={() => {}} />);
  events.forEach((e) => store.push(e));
  return { store, ui, frame: () => frameLines(ui.lastFrame()) };
}

describe('state by instance address', () => {
  it('hangs items under their step and sub-runbook steps under their item, each row with its own state', () => {
    const s = reduceAll(createState(), untilPoll(2));
    expect(listPhaseSteps(s, 'drain').map((st) => [st.id, rowLabel(st), st.depth, st.status, st.item])).toEqual([
      ['list-hosts', 'list-hosts', 0, 'succeeded', undefined],
      ['restart-each', 'restart-each', 0, 'running', undefined],
      ['restart-each[0]', '[0]', 1, 'succeeded', 'web-1'],
      ['restart-each[0].mark-draining', 'mark-draining', 2, 'succeeded', 'web-1'],
      ['restart-each[0].healthy', 'healthy', 2, 'succeeded', 'web-1'],
      ['restart-each[1]', '[1]', 1, 'running', 'web-2'],
      ['restart-each[1].mark-draining', 'mark-draining', 2, 'succeeded', 'web-2'],
      ['restart-each[1].healthy', 'healthy', 2, 'running', 'web-2'],
      ['check', 'check', 0, 'pending', undefined],
    ]);
    // the second item's healthy row is its own: not the first item's success
    expect(s.steps['restart-each[1].healthy']).toMatchObject({ status: 'running', attempt: 1, lines: ['poll 1: connect ECONNREFUSED 127.0.0.1:8080', 'poll 2: connect ECONNREFUSED 127.0.0.1:8080'] });
    expect(s.steps['restart-each[0].healthy']).toMatchObject({ status: 'succeeded', durationMs: 110, lines: ['GET /health → 200 (12 ms)'] });
    // the for_each step runs from its first item's start; its items are counted as they go
    expect(s.steps['restart-each']).toMatchObject({ status: 'running', startedAt: T1 + 200 });
    expect(describeItems(s, s.steps['restart-each'])).toBe('1 running, 1 succeeded');
    expect(s.phases.map((p) => p.id)).toEqual(['drain']);
  });

  it('takes the aggregate counts and rolls back per instance, in reverse order of start', () => {
    const s = reduceAll(createState(), rolling);
    expect(s.steps['restart-each']).toMatchObject({ status: 'failed', durationMs: 8_810, items: { succeeded: 1, failed: 0, timed_out: 1, skipped: 0, cancelled: 0 } });
    expect(describeItems(s, s.steps['restart-each'])).toBe('1 succeeded, 1 timed out');
    expect(listRollbacks(s).map((st) => [st.id, st.rollback?.status])).toEqual([
      ['restart-each[1].mark-draining', 'succeeded'],
      ['restart-each[0].mark-draining', 'succeeded'],
    ]);
    expect(s.phases.map((p) => [p.id, p.status, p.durationMs])).toEqual([
      ['drain', 'failed', 9_010],
      ['finally', 'succeeded', 41],
    ]);
  });

  it('a resumed run keeps its start, phase start and in-flight instance start from the earlier events', () => {
    const resumed = eventsOf(resumedRollingRun());
    const s = reduceAll(createState(), eventsUntil(resumed, (e) => e.type === 'step.started' && e.step === 'restart-each[1].healthy', 2));
    const T2 = Date.parse('2026-12-01T11:00:00.000Z');
    expect(s.run).toMatchObject({ id: 'r-rolling-resumed', startedAt: T2, resumed: true });
    expect(s.phases[0]).toMatchObject({ id: 'drain', status: 'running', startedAt: T2 + 10 });
    expect(s.steps['restart-each[1].healthy']).toMatchObject({ status: 'running', startedAt: T2 + 3_230 });
    const end = reduceAll(createState(), resumed);
    // the new process's phase.finished counts 210 ms; the phase ran for 63.21 s, over its 1m budget
    expect(end.phases[0]).toMatchObject({ status: 'succeeded', durationMs: 63_210, withinBudget: false });
  });
});

describe('frames', () => {
  it('shows items under their step with their item and own status, and the for_each counts', async () => {
    useFakeClock(T1);
    const { frame } = mount(untilPoll(3));
    vi.setSystemTime(T1 + 6_500);
    await settle(300);
    const lines = frame();
    const rows = lines.slice(lines.indexOf('Steps · drain — Drain and restart') + 1, lines.findIndex((l) => l.startsWith('── ')));
    expect(rows).toEqual([
      ' ✓ list-hosts        List the web hosts shell   1/1   100ms',
      ' ● restart-each      Restart each host  runbo…           6s   items: 1 running, 1 succeeded',
      ' ✓   [0]             web-1              runbo…  1/1   360ms',
      ' ✓     mark-draining                    shell     1   200ms   draining web-1',
      ' ✓     healthy                          http      1   110ms   GET /health → 200 (12 ms)',
      ' ●   [1]             web-2              runbo…  1/1      3s',
      ' ✓     mark-draining                    shell     1   200ms   draining web-2',
      ' ●     healthy                          http      1      3s   poll 3: connect ECONNREFUSED 127.0.0…',
      ' ○ check             Check the database sql',
    ]);
    expect(lines.find((l) => l.startsWith('── '))).toMatch(/^── restart-each\[1\]\.healthy · output \(follow\) ─+$/);
  });

  it('ends with rollbacks per instance and the summary', async () => {
    useFakeClock(T1);
    const { store, frame } = mount(rolling);
    store.finish();
    await settle(60);
    const lines = frame();
    const at = lines.indexOf('↺ Rollbacks');
    expect(lines.slice(at + 1, at + 3)).toEqual(['  ✓ restart-each[1].mark-draining  succeeded 100ms', '  ✓ restart-each[0].mark-draining  succeeded 100ms']);
    expect(lines).toContain('  ✓ finally                                  41ms');
  });

  it('after a resume: the header, RTO and phase clock count from the original start', async () => {
    const resumed = eventsOf(resumedRollingRun());
    useFakeClock(Date.parse('2026-12-01T11:01:03.100Z'));
    const { frame } = mount(eventsUntil(resumed, (e) => e.type === 'step.started' && e.step === 'restart-each[1].healthy', 2));
    await settle(300);
    const lines = frame();
    expect(lines[0]).toBe('Rolling restart of the web tier  P1  run r-rolling-resumed  resumed');
    expect(lines[1]).toBe('RTO 1m 03s / 2m  ███████████░░░░░░░░░ 53%  57s left');
    expect(lines).toContain('  ● drain  Drain and restart               1m 03s / 1m over by 3s');
  });
});

describe('header at 80 columns', () => {
  const run = { id: '20261126T043012Z-database-corruption-3f9a', runbook: 'database-corruption', title: 'Database corruption — restore the trading database from the latest backup', severity: 'P0', file: 'x.yaml', user: 'u', startedAt: T1, rtoMs: 300_000, onExceeded: 'warn' as const, dryRun: false, drill: false, resumed: false };

  it('cuts the title, never the run id', () => {
    const ui = render(<Header run={run} now={T1 + 1000} columns={80} />);
    const [first] = frameLines(ui.lastFrame());
    expect(first).toBe('Database corruption — resto…  P0  run 20261126T043012Z-database-corruption-3f9a');
    expect(first.length).toBeLessThanOrEqual(79);
  });

  it('puts the run id on a line of its own when the title would get too little room', () => {
    const ui = render(<Header run={{ ...run, drill: true, resumed: true }} now={T1 + 1000} columns={60} />);
    const lines = frameLines(ui.lastFrame());
    expect(lines.slice(0, 2)).toEqual(['Database corruption — restore the trading database fro…  P0', 'run 20261126T043012Z-database-corruption-3f9a  DRILL  resumed']);
  });
});

describe('prompts show the whole body', () => {
  const script = ['set -e', `psql "$DB" -c "UPDATE accounts SET frozen = true WHERE region = 'eu-west-1' AND last_seen < now() - interval '30 days'"`, 'echo done'].join('\n');
  const body = `shell:\n  run: |-\n${script.split('\n').map((l) => `    ${l}`).join('\n')}`;

  it('confirm shows the body being approved, wrapped, not cut', async () => {
    useFakeClock(T1);
    const { store, frame } = mount(rolling.slice(0, 2));
    const answer = createTuiDecider(store, 'alice').decide({ kind: 'confirm', step: 'freeze', message: 'Freeze old EU accounts', body }, new AbortController().signal);
    await settle(60);
    const box = frame().filter((l) => l.startsWith('│'));
    expect(box.slice(0, 8)).toEqual([
      '│ Confirm freeze                                                                                   │',
      '│ Freeze old EU accounts                                                                           │',
      '│   shell:                                                                                         │',
      '│     run: |-                                                                                      │',
      '│       set -e                                                                                     │',
      `│       psql "$DB" -c "UPDATE accounts SET frozen = true WHERE region = 'eu-west-1' AND last_seen  │`,
      "│       < now() - interval '30 days'\"                                                              │",
      '│       echo done                                                                                  │',
    ]);
    void answer;
  });

  it('--step scrolls a body taller than the screen with PgDn/PgUp', async () => {
    useFakeClock(T1);
    const { store, ui, frame } = mount(rolling.slice(0, 2));
    const long = `shell:\n  run: |-\n${Array.from({ length: 60 }, (_, i) => `    echo line ${i + 1}`).join('\n')}`;
    void createTuiDecider(store, 'alice').decide({ kind: 'step', step: 'many', rendered: 'echo line 1 …', body: long }, new AbortController().signal);
    await settle(60);
    expect(frame()).toContain('│       echo line 1                                                                                │');
    const status = () => frame().find((l) => l.includes(' of 62'))!;
    expect(status()).toMatch(/lines 1–23 of 62 · PgDn more/);
    ui.stdin.write('\u001B[6~');
    await settle(60);
    expect(status()).toMatch(/lines 24–46 of 62 · PgDn more · PgUp back/);
    expect(frame()).toContain('│       echo line 43                                                                               │');
    ui.stdin.write('\u001B[6~');
    ui.stdin.write('\u001B[6~');
    await settle(60);
    expect(status()).toMatch(/lines 40–62 of 62 · PgUp back/);
    ui.stdin.write('\u001B[5~');
    await settle(60);
    expect(status()).toMatch(/lines 17–39 of 62/);
  });
});
