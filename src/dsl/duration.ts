/**
 * Durations as runbooks write them: `250ms`, `30s`, `5m`, `1h30m`, `2d`, `1.5s`.
 * Units go from largest to smallest, each at most once (`1h30m`, not `30m1h`), so a typo like
 * `5m5m` is an error rather than a silent 10 minutes.
 */

const part = (unit: string) => `(?:(\\d+(?:\\.\\d+)?)${unit})?`;
// `m(?!s)` keeps the `m` of `ms` from being read as minutes.
const BODY = `(?=\\d)${part('d')}${part('h')}${part('m(?!s)')}${part('s')}${part('ms')}`;

/** A regex source (ECMA-262, no flags) for JSON Schema `pattern`: a whole duration string. */
export const DURATION_PATTERN = `^${BODY}$`;

const FULL = new RegExp(DURATION_PATTERN);
const UNIT_MS = [86_400_000, 3_600_000, 60_000, 1_000, 1];

/** Milliseconds of a duration string, or undefined when it is not one. */
export function parseDuration(s: string): number | undefined {
  const m = FULL.exec(s);
  if (!m) return undefined;
  let ms = 0;
  for (let i = 0; i < UNIT_MS.length; i++) {
    const n = m[i + 1];
    if (n !== undefined) ms += Number(n) * UNIT_MS[i];
  }
  return Math.round(ms);
}

/** A short human form: `250ms`, `1.5s`, `42s`, `1m 05s`, `5m`, `1h 30m`, `2d 03h`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms < 0) return `-${formatDuration(-ms)}`;
  const whole = Math.round(ms);
  if (whole < 1000) return `${whole}ms`;
  if (whole < 10_000) {
    const tenths = Math.round(whole / 100) / 10;
    if (tenths < 10) return `${tenths}s`;
  }
  const secs = Math.round(whole / 1000);
  if (secs < 60) return `${secs}s`;
  if (secs < 3600) return pair(Math.floor(secs / 60), 'm', secs % 60, 's');
  const mins = Math.round(secs / 60);
  if (mins < 24 * 60) return pair(Math.floor(mins / 60), 'h', mins % 60, 'm');
  const hours = Math.round(mins / 60);
  return pair(Math.floor(hours / 24), 'd', hours % 24, 'h');
}

function pair(big: number, bigUnit: string, small: number, smallUnit: string): string {
  return small === 0 ? `${big}${bigUnit}` : `${big}${bigUnit} ${String(small).padStart(2, '0')}${smallUnit}`;
}
