/**
 * Text helpers shared by the plain printer and the TUI. No ink/react here: `--no-tui` loads this.
 */
import type { RunStatus, StepStatus } from '../interpreter/events.js';

/** Status symbols: narrow (single-column) characters only, so columns stay aligned in any terminal. */
export const STEP_SYMBOL: Record<StepStatus, string> = {
  pending: '○',
  running: '●',
  succeeded: '✓',
  failed: '✗',
  timed_out: '✗',
  skipped: '↷',
  cancelled: '⊘',
};

export const RUN_SYMBOL: Record<RunStatus, string> = {
  succeeded: '✓',
  rolled_back: '↺',
  rollback_failed: '✗',
  failed: '✗',
  aborted: '⊘',
};

/** Human wording of a step status (`timed_out` reads "timed out"). */
export function describeStatus(status: string): string {
  return status.replace(/_/g, ' ');
}

/**
 * `340ms`, `12.3s`, `1m 05s`, `1h 02m`. `whole` drops sub-second digits: live timers tick once a
 * second instead of flickering tenths.
 */
export function formatDuration(ms: number, opts: { whole?: boolean } = {}): string {
  const neg = ms < 0;
  const abs = Math.abs(ms);
  const sign = neg ? '-' : '';
  if (abs < 1000 && !opts.whole) return `${sign}${Math.round(abs)}ms`;
  if (abs < 60_000) return opts.whole ? `${sign}${Math.floor(abs / 1000)}s` : `${sign}${(abs / 1000).toFixed(1)}s`;
  const totalS = Math.floor(abs / 1000);
  if (abs < 3_600_000) return `${sign}${Math.floor(totalS / 60)}m ${String(totalS % 60).padStart(2, '0')}s`;
  const totalM = Math.floor(totalS / 60);
  return `${sign}${Math.floor(totalM / 60)}h ${String(totalM % 60).padStart(2, '0')}m`;
}

/** A budget or objective as written (`1m`, `30s`, `1h30m` style but spaced like durations). */
export function formatBudget(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0 && ms < 60_000) return `${ms / 1000}s`;
  return formatDuration(ms);
}

/** `HH:MM:SS.mmm` in local time. */
export function formatClock(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

/** Three significant digits: `512 B`, `1.50 KiB`, `12.3 MiB`, `412 MiB`. */
export function formatBytes(n: number): string {
  const [v, unit] = scaleBytes(n);
  return `${v} ${unit}`;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

function scaleBytes(n: number, unitIndex?: number): [string, string] {
  let v = n;
  let u = 0;
  while ((unitIndex === undefined ? v >= 1024 : u < unitIndex) && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  if (u === 0) return [String(Math.round(v)), 'B'];
  return [v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2), UNITS[u]];
}

function unitOf(n: number): number {
  let u = 0;
  while (n >= 1024 && u < UNITS.length - 1) {
    n /= 1024;
    u++;
  }
  return u;
}

/** A bar of `width` cells, `fraction` (clamped to 0..1) filled. */
export function formatBar(fraction: number, width: number): string {
  const f = Math.max(0, Math.min(1, Number.isFinite(fraction) ? fraction : 0));
  const filled = Math.round(f * width);
  return '█'.repeat(filled) + '░'.repeat(width - filled);
}

/** How a timer stands against its limit: fine, past 80 % (warn) or past 100 % (over). */
export type Pressure = 'ok' | 'warn' | 'over';

export function measurePressure(elapsedMs: number, limitMs: number | undefined): Pressure {
  if (!limitMs || limitMs <= 0) return 'ok';
  const r = elapsedMs / limitMs;
  return r > 1 ? 'over' : r > 0.8 ? 'warn' : 'ok';
}

/** Progress of a transfer: `█████░░░░░ 200/412 MiB · 100 MiB/s`. */
export function formatProgress(p: { bytes?: number; total?: number; rate?: number; message?: string }, barWidth = 10): string {
  const parts: string[] = [];
  if (p.bytes !== undefined) {
    if (p.total) {
      // both figures in the total's unit, so they read as a fraction
      const u = unitOf(p.total);
      const [done] = scaleBytes(p.bytes, u);
      const [total, unit] = scaleBytes(p.total, u);
      parts.push(`${formatBar(p.bytes / p.total, barWidth)} ${done}/${total} ${unit}`);
    } else parts.push(formatBytes(p.bytes));
  }
  if (p.rate !== undefined) parts.push(`${formatBytes(p.rate)}/s`);
  if (p.message) parts.push(p.message);
  return parts.join(' · ');
}

/** Cut `text` to `width` columns with an ellipsis; pad when `pad`. */
export function fitText(text: string, width: number, pad = false): string {
  const chars = Array.from(text);
  if (chars.length > width) return width <= 1 ? chars.slice(0, width).join('') : chars.slice(0, width - 1).join('') + '…';
  return pad ? text + ' '.repeat(width - chars.length) : text;
}

/** Split an output chunk into lines; a trailing newline does not make an empty line. Control codes are dropped. */
export function splitLines(text: string): string[] {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\t/g, '  ');
  const lines = clean.split(/\r?\n/);
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  // a bare \r (progress bars of other tools) keeps only what was drawn last
  // eslint-disable-next-line no-control-regex
  return lines.map((l) => (l.includes('\r') ? l.slice(l.lastIndexOf('\r') + 1) : l).replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, ''));
}

/** Lines of `text` wrapped to `width` columns, never cut: a continuation keeps the line's indent. */
export function wrapLines(text: string, width: number): string[] {
  const out: string[] = [];
  const w = Math.max(8, width);
  for (const line of text.split('\n')) {
    const chars = Array.from(line.replace(/\t/g, '  '));
    if (chars.length <= w) {
      out.push(chars.join(''));
      continue;
    }
    const indent = /^ */.exec(line)![0].length;
    const pad = ' '.repeat(Math.min(indent, Math.floor(w / 2)));
    out.push(chars.slice(0, w).join(''));
    for (let i = w; i < chars.length; i += w - pad.length) out.push(pad + chars.slice(i, i + w - pad.length).join(''));
  }
  return out;
}
