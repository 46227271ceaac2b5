/** Text forms of times shared by the human-readable reports. All pure, all UTC. */

/**
 * A duration in the DSL's own notation: `250ms`, `1.234s`, `2m5.3s`, `1h30m`.
 * Under a minute keeps milliseconds; from a minute on, seconds are rounded to a tenth.
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  const sign = ms < 0 ? '-' : '';
  ms = Math.abs(Math.round(ms));
  if (ms < 1000) return `${sign}${ms}ms`;
  if (ms < 60_000) return `${sign}${trimZeros((ms / 1000).toFixed(3))}s`;
  const tenths = Math.round(ms / 100);
  const h = Math.floor(tenths / 36_000);
  const m = Math.floor((tenths % 36_000) / 600);
  const s = (tenths % 600) / 10;
  let out = sign;
  if (h) out += `${h}h`;
  if (m) out += `${m}m`;
  if (s) out += `${trimZeros(s.toFixed(1))}s`;
  return out;
}

/** Offset from the run's start: `+00:01.234`, `+12:34.567`, `+1:02:03.456` past an hour. */
export function formatOffset(ms: number): string {
  const sign = ms < 0 ? '-' : '+';
  ms = Math.abs(Math.round(ms));
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = Math.floor((ms % 60_000) / 1000);
  const frac = String(ms % 1000).padStart(3, '0');
  const mmss = `${pad2(m)}:${pad2(s)}.${frac}`;
  return h ? `${sign}${h}:${mmss}` : `${sign}${mmss}`;
}

/** `2024-05-01 12:00:03 UTC` (the guide's template uses UTC wall-clock times). */
export function formatUtc(iso: string): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  return new Date(t).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

/** Milliseconds between two ISO timestamps (0 when either does not parse). */
export function msBetween(fromIso: string, toIso: string): number {
  const d = Date.parse(toIso) - Date.parse(fromIso);
  return Number.isNaN(d) ? 0 : d;
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

function trimZeros(fixed: string): string {
  return fixed.includes('.') ? fixed.replace(/0+$/, '').replace(/\.$/, '') : fixed;
}
