import type { Pressure } from '../format.js';

/** Ink colour names per status: the same words as the plain printer's ANSI colours. */
export const STATUS_COLOR: Record<string, string | undefined> = {
  succeeded: 'green',
  failed: 'red',
  timed_out: 'red',
  skipped: 'gray',
  cancelled: 'yellow',
  running: 'cyan',
  pending: 'gray',
  rolled_back: 'yellow',
  rollback_failed: 'red',
  aborted: 'yellow',
};

/** Timers: default colour, yellow past 80 % of the limit, red past 100 %. */
export const PRESSURE_COLOR: Record<Pressure, string | undefined> = { ok: undefined, warn: 'yellow', over: 'red' };
