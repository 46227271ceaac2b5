/**
 * The `--no-tui` lines of v2 journals (spec §8): by instance address, items under their step with
 * their value, the for_each counts; identical poll errors collapsed; and when to colour.
 */
import { describe, expect, it } from 'vitest';
import { createPlainPrinter, type PlainOptions } from '../../src/tui/plain.js';
import { colorLevel } from '../../src/tui/color-support.js';
import type { RunEvent } from '../../src/interpreter/events.js';
import { eventsOf, resumedRollingRun, rollingRun } from '../report/journals-v2.js';

process.env.TZ = 'UTC';

function print(events: RunEvent[], opts: PlainOptions = {}): string[] {
  const out: string[] = [];
  events.forEach(createPlainPrinter((l) => out.push(l), opts));
  return out;
}

const rolling = eventsOf(rollingRun());

describe('plain lines by instance address', () => {
  it('prints each instance once, indented under its step, with its item; the rollbacks of each instance; the item counts', () => {
    expect(print(rolling)).toEqual([
      '10:00:00.000 ▶ run rolling-restart — Rolling restart of the web tier [P1] · run r-rolling · RTO 2m · alice@dr-host',
      '10:00:00.010 ▶ phase drain — Drain and restart (budget 1m)',
      '10:00:00.020   ▶ list-hosts — List the web hosts (shell) attempt 1/1',
      '10:00:00.120   ✓ list-hosts succeeded in 100ms',
      '10:00:00.200     ▶ restart-each[0] — Restart each host (runbook) · item web-1 attempt 1/1',
      '10:00:00.210       ▶ phase restart-each[0]/cycle',
      '10:00:00.220       ▶ restart-each[0].mark-draining (shell) attempt 1',
      '10:00:00.320   │ [restart-each[0].mark-draining] draining web-1',
      '10:00:00.420       ✓ restart-each[0].mark-draining succeeded in 200ms',
      '10:00:00.430       ▶ restart-each[0].healthy (http) attempt 1',
      '10:00:00.530   │ [restart-each[0].healthy] GET /health → 200 (12 ms)',
      '10:00:00.540       ✓ restart-each[0].healthy succeeded in 110ms',
      '10:00:00.550       ■ phase restart-each[0]/cycle succeeded in 340ms',
      '10:00:00.560     ✓ restart-each[0] succeeded in 360ms',
      '10:00:03.000     ▶ restart-each[1] — Restart each host (runbook) · item web-2 attempt 1/1',
      '10:00:03.010       ▶ phase restart-each[1]/cycle',
      '10:00:03.020       ▶ restart-each[1].mark-draining (shell) attempt 1',
      '10:00:03.120   │ [restart-each[1].mark-draining] draining web-2',
      '10:00:03.220       ✓ restart-each[1].mark-draining succeeded in 200ms',
      '10:00:03.230       ▶ restart-each[1].healthy (http) attempt 1',
      '10:00:04.230   │ [restart-each[1].healthy] poll 1: connect ECONNREFUSED 127.0.0.1:8080',
      '10:00:07.230   │ [restart-each[1].healthy] polls 2–4: same error',
      '10:00:08.230       ✗ restart-each[1].healthy timed out in 5.0s: condition not met within 5s (4 polls)',
      '10:00:08.240       ■ phase restart-each[1]/cycle failed in 5.2s',
      '10:00:08.250     ✗ restart-each[1] timed out in 5.3s: healthy timed out',
      '10:00:09.010   ✗ restart-each failed in 8.8s · items: 1 succeeded, 1 timed out: 1 of 2 items failed',
      '10:00:09.020 ■ phase drain failed in 9.0s / budget 1m ✓ · RTO 9.0s / 2m (8%)',
      '10:00:09.030 ↺ rolling back',
      '10:00:09.030       ↺ rollback restart-each[1].mark-draining',
      '10:00:09.130       ✓ rollback restart-each[1].mark-draining succeeded in 100ms',
      '10:00:09.140       ↺ rollback restart-each[0].mark-draining',
      '10:00:09.240       ✓ rollback restart-each[0].mark-draining succeeded in 100ms',
      '10:00:09.250   ▶ cleanup (log) attempt 1',
      '10:00:09.251   ✎ cleanup: Web tier left as it was',
      '10:00:09.291   ✓ cleanup succeeded in 41ms',
      "10:00:09.300 ↺ run rolled back in 9.3s / RTO 2m missed — step 'restart-each' failed: 1 of 2 items failed",
    ]);
  });
});

describe('the run line', () => {
  it('says DRILL for a run --drill', () => {
    const [first] = print(eventsOf(rollingRun('r-d', undefined, { drill: true })).slice(0, 1));
    expect(first).toBe('10:00:00.000 ▶ run rolling-restart — Rolling restart of the web tier [P1] · run r-d · RTO 2m · alice@dr-host · DRILL');
  });
});

describe('a resumed run', () => {
  it('times a phase from its first start, not from the resume', () => {
    const lines = print(eventsOf(resumedRollingRun()));
    expect(lines.find((l) => l.includes('↻ resumed'))).toBe('11:01:03.000 ↻ resumed by pid 5151 · in flight: restart-each[1].healthy → rerun');
    // the second process's phase.finished says 210 ms
    expect(lines.find((l) => l.includes('■ phase drain'))).toBe('11:01:03.220 ■ phase drain succeeded in 1m 03s / budget 1m over by 3.2s · RTO 1m 03s / 2m (53%)');
  });
});

describe('repeated poll failures', () => {
  const base = { run: 'r', ts: '2026-12-01T10:00:00.000Z' };
  const at = (s: number) => new Date(Date.parse(base.ts) + s * 1000).toISOString();
  const poll = (n: number, msg = 'connect ECONNREFUSED 127.0.0.1:8080', step = 'wait-up'): RunEvent => ({ ...base, ts: at(n), type: 'step.output', step, stream: 'info', text: `poll ${n}: ${msg}` });
  const polls: RunEvent[] = [poll(1, 'timeout'), ...Array.from({ length: 31 }, (_, i) => poll(i + 2))];

  it('when piped: the first of identical errors in full, the rest as one line when they end', () => {
    const lines = print([...polls, poll(33, 'HTTP 503'), { ...base, ts: at(34), type: 'step.finished', step: 'wait-up', phase: 'p', status: 'succeeded', attempts: 1, duration_ms: 34_000, outputs: {} }]);
    expect(lines).toEqual([
      '10:00:01.000   │ [wait-up] poll 1: timeout',
      '10:00:02.000   │ [wait-up] poll 2: connect ECONNREFUSED 127.0.0.1:8080',
      '10:00:32.000   │ [wait-up] polls 3–32: same error',
      '10:00:33.000   │ [wait-up] poll 33: HTTP 503',
      '10:00:34.000   ✓ wait-up succeeded in 34.0s',
    ]);
  });

  it('keeps each step apart, and prints what is held back when the step or the run ends', () => {
    const lines = print([poll(1), poll(2), poll(1, 'refused', 'other'), poll(3), poll(2, 'refused', 'other'), { ...base, ts: at(4), type: 'step.finished', step: 'wait-up', phase: 'p', status: 'timed_out', attempts: 1, duration_ms: 4000, outputs: {} }, { ...base, ts: at(5), type: 'run.finished', status: 'failed', duration_ms: 5000, rto_met: null, measures: {} }]);
    expect(lines).toEqual([
      '10:00:01.000   │ [wait-up] poll 1: connect ECONNREFUSED 127.0.0.1:8080',
      '10:00:01.000   │ [other] poll 1: refused',
      '10:00:03.000   │ [wait-up] polls 2–3: same error',
      '10:00:04.000   ✗ wait-up timed out in 4.0s',
      '10:00:02.000   │ [other] poll 2: same error',
      '10:00:05.000 ✗ run failed in 5.0s',
    ]);
  });

  it('on a terminal: one line, rewritten in place as polls come', () => {
    const lines = print(polls.slice(0, 5), { live: true });
    const up = '\u001b[1A\u001b[2K';
    expect(lines).toEqual([
      '10:00:01.000   │ [wait-up] poll 1: timeout',
      '10:00:02.000   │ [wait-up] poll 2: connect ECONNREFUSED 127.0.0.1:8080',
      '10:00:03.000   │ [wait-up] poll 3: same error',
      `${up}10:00:04.000   │ [wait-up] polls 3–4: same error`,
      `${up}10:00:05.000   │ [wait-up] polls 3–5: same error`,
    ]);
    // a line of something else in between: the next repeat starts a new line instead of overwriting it
    const mixed = print([poll(1), poll(2), { ...base, ts: at(2), type: 'log', step: 'note', text: 'hello' }, poll(3)], { live: true });
    expect(mixed.slice(2)).toEqual(['10:00:02.000   ✎ note: hello', '10:00:03.000   │ [wait-up] polls 2–3: same error']);
  });
});

describe('colorLevel', () => {
  it('follows NO_COLOR, FORCE_COLOR and the terminal like the ecosystem does', () => {
    expect(colorLevel({}, true)).toBe(1);
    expect(colorLevel({}, false)).toBe(0);
    expect(colorLevel({ TERM: 'xterm-256color' }, true)).toBe(2);
    expect(colorLevel({ COLORTERM: 'truecolor' }, true)).toBe(3);
    expect(colorLevel({ TERM: 'dumb' }, true)).toBe(0);
    expect(colorLevel({ NO_COLOR: '1' }, true)).toBe(0);
    // an empty NO_COLOR does not count (no-color.org)
    expect(colorLevel({ NO_COLOR: '' }, true)).toBe(1);
    expect(colorLevel({ FORCE_COLOR: '1' }, false)).toBe(1);
    expect(colorLevel({ FORCE_COLOR: '' }, false)).toBe(1);
    expect(colorLevel({ FORCE_COLOR: 'true' }, false)).toBe(1);
    expect(colorLevel({ FORCE_COLOR: '3' }, false)).toBe(3);
    expect(colorLevel({ FORCE_COLOR: '0' }, true)).toBe(0);
    expect(colorLevel({ FORCE_COLOR: 'false' }, true)).toBe(0);
    // as in Node and chalk, FORCE_COLOR wins over NO_COLOR
    expect(colorLevel({ FORCE_COLOR: '1', NO_COLOR: '1' }, false)).toBe(1);
  });
});
