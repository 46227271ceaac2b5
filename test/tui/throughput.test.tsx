import { afterEach, describe, expect, it, vi } from 'vitest';
import { performance } from 'node:perf_hooks';
import { render, cleanup } from 'ink-testing-library';
import { RunStore } from '../../src/tui/store.js';
import { App } from '../../src/tui/components/app.js';
import type { RunEvent } from '../../src/interpreter/events.js';
import { T0, eventsUntil, frameLines, loadJournal, useFakeClock } from './helpers.js';

afterEach(() => {
  cleanup();
  vi.useRealTimers();
});

const output = (i: number): RunEvent => ({
  ts: new Date(T0 + 1_000 + Math.floor(i / 10)).toISOString(),
  run: 'r',
  type: 'step.output',
  step: 'check-db',
  stream: 'stdout',
  text: `row ${i}: ${'x'.repeat(60)}\n`,
});

describe('throughput', () => {
  it('10,000 output lines in one second of run time: pushes stay cheap and at most ~20 frames are drawn', async () => {
    useFakeClock(T0);
    const store = new RunStore();
    const ui = render(<App store={store} onInterrupt={() => {}} />);
    eventsUntil(loadJournal(), (e) => e.type === 'step.started').forEach((e) => store.push(e));
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
    const framesBefore = ui.frames.length;
    let pushMs = 0;
    let n = 0;
    const events = Array.from({ length: 10_000 }, (_, i) => output(i));
    // 100 bursts of 100 lines, 10 ms apart: a step printing 10,000 lines a second
    for (let burst = 0; burst < 100; burst++) {
      const t = performance.now();
      for (let i = 0; i < 100; i++) store.push(events[n++]);
      pushMs += performance.now() - t;
      await vi.advanceTimersByTimeAsync(10);
      await new Promise((r) => setImmediate(r));
    }
    await vi.advanceTimersByTimeAsync(60);
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
    const frames = ui.frames.length - framesBefore;
    console.log(`10,000 pushes took ${pushMs.toFixed(1)} ms in total; ${frames} frames drawn`);
    // The cost in milliseconds is a figure for bench/, not a timed assertion; what must hold is the throttling.
    // 20 throttled frames a second, plus the clock's 4 ticks
    expect(frames).toBeGreaterThan(5);
    expect(frames).toBeLessThanOrEqual(26);
    const lines = frameLines(ui.lastFrame());
    expect(lines.find((l) => l.startsWith('── '))).toMatch(/^── check-db · output \(follow\) · last 500 of 10000 lines ─+$/);
    expect(lines).toContain(`  row 9999: ${'x'.repeat(60)}`);
  });

  it('10,000 pushes with nobody drawing notify once and are folded once', () => {
    const store = new RunStore();
    eventsUntil(loadJournal(), (e) => e.type === 'step.started').forEach((e) => store.push(e));
    let notified = 0;
    store.subscribe(() => notified++);
    store.snapshot();
    const events = Array.from({ length: 10_000 }, (_, i) => output(i));
    const t = performance.now();
    for (const e of events) store.push(e);
    const pushMs = performance.now() - t;
    const t2 = performance.now();
    const snap = store.snapshot();
    const foldMs = performance.now() - t2;
    console.log(`push ${pushMs.toFixed(1)} ms, fold ${foldMs.toFixed(1)} ms`);
    // One notification for 10,000 pushes, one fold: the design that keeps pushes cheap. The figures
    // above are printed, not asserted: timings belong in bench/, not in tests on a loaded machine.
    expect(notified).toBe(1);
    expect(snap.state.steps['check-db'].lineCount).toBe(10_000);
    expect(snap.state.steps['check-db'].lines).toHaveLength(500);
  });
});
