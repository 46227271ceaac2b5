import { readFileSync } from 'node:fs';
import { vi } from 'vitest';
import type { RunEvent } from '../../src/interpreter/events.js';

export const RUN = '20240501-120000-a1b2';
export const T0 = Date.parse('2024-05-01T12:00:00.000Z');

/** The recorded journal of a failed, rolled back run. */
export function loadJournal(name = 'run-failed.jsonl'): RunEvent[] {
  const text = readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as RunEvent);
}

/** Events of the journal up to and including the `n`-th one matching `pred` (1-based). */
export function eventsUntil(events: RunEvent[], pred: (e: RunEvent) => boolean, n = 1): RunEvent[] {
  let seen = 0;
  for (let i = 0; i < events.length; i++) {
    if (pred(events[i]) && ++seen === n) return events.slice(0, i + 1);
  }
  throw new Error('no such event in the journal');
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;
export function stripAnsi(s: string | undefined): string {
  return (s ?? '').replace(ANSI, '');
}

/** Lines of a frame without colours and trailing blanks. */
export function frameLines(frame: string | undefined): string[] {
  return stripAnsi(frame).split('\n').map((l) => l.trimEnd());
}

/** Fake only what the TUI's timers use: React's scheduler needs the real setImmediate. */
export function useFakeClock(at: number): void {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
  vi.setSystemTime(at);
}

/** Let throttled frames fire (fake time) and React commit them (real setImmediate). */
export async function settle(ms = 60): Promise<void> {
  await vi.advanceTimersByTimeAsync(ms);
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
}
