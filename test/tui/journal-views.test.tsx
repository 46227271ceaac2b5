import { afterEach, describe, expect, it, vi } from 'vitest';
import { render, cleanup } from 'ink-testing-library';
import { createPlainPrinter } from '../../src/tui/plain.js';
import { createState, reduceAll } from '../../src/tui/state.js';
import { RunStore } from '../../src/tui/store.js';
import { App } from '../../src/tui/components/app.js';
import { T0, frameLines, loadJournal, settle, useFakeClock } from './helpers.js';

afterEach(() => {
  cleanup();
  vi.useRealTimers();
});

describe('one recorded journal, two views', () => {
  it('the plain printer, the reducer and the final frame agree on every step status, rollback and the run status', async () => {
    const journal = loadJournal();

    const lines: string[] = [];
    const printer = createPlainPrinter((l) => lines.push(l));
    journal.forEach(printer);
    const plainSteps: Record<string, string> = {};
    const plainRollbacks: Record<string, string> = {};
    for (const l of lines) {
      const step = /^\S+ +[✓✗↷⊘] (\S+) (succeeded|failed|timed out|skipped|cancelled) in /.exec(l);
      if (step && !l.includes(' rollback ')) plainSteps[step[1]] = step[2].replace(' ', '_');
      const rb = /^\S+ +[✓✗↷⊘] rollback (\S+) (succeeded|failed|timed out|skipped|cancelled)/.exec(l);
      if (rb) plainRollbacks[rb[1]] = rb[2].replace(' ', '_');
    }
    const plainRun = /run (succeeded|rolled back|rollback failed|failed|aborted) in/.exec(lines[lines.length - 1])?.[1].replace(' ', '_');

    const state = reduceAll(createState(), journal);
    const stateSteps = Object.fromEntries(Object.values(state.steps).filter((s) => s.status !== 'pending').map((s) => [s.id, s.status]));
    const stateRollbacks = Object.fromEntries(Object.values(state.steps).filter((s) => s.rollback).map((s) => [s.id, s.rollback!.status]));

    expect(plainSteps).toEqual({ 'check-db': 'succeeded', 'check-backups': 'succeeded', assess: 'succeeded', 'stop-app': 'succeeded', download: 'succeeded', 'restore-db': 'failed' });
    expect(stateSteps).toEqual(plainSteps);
    expect(stateRollbacks).toEqual(plainRollbacks);
    expect(plainRollbacks).toEqual({ 'restore-db': 'succeeded', 'stop-app': 'succeeded' });
    expect(plainRun).toBe('rolled_back');
    expect(state.finished?.status).toBe(plainRun);

    // the screen at the end says the same
    useFakeClock(T0);
    const store = new RunStore();
    const ui = render(<App store={store} onInterrupt={() => {}} />);
    journal.forEach((e) => store.push(e));
    store.finish();
    await settle(60);
    const frame = frameLines(ui.lastFrame());
    const symbol: Record<string, string> = { succeeded: '✓', failed: '✗', pending: '○' };
    const phaseRows = frame.filter((l) => /^║ [✓✗–] (detect|restore)/.test(l)).join(' ');
    for (const s of Object.values(state.steps)) expect(phaseRows).toContain(`${symbol[s.status]} ${s.id}`);
    expect(frame).toContain('║ ↺ Run rolled back in 20.5s / RTO 5m ✓ met                                                        ║');
    expect(frame).toContain('  ✓ restore-db  succeeded 900ms');
    expect(frame).toContain('  ✓ stop-app    succeeded 1.5s');
  });
});
