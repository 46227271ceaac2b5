/**
 * A KPI's trend over the window: the least-squares slope of its values against time, turned into
 * the change it predicts across the window's span, and called improving / stable / degrading
 * against a stated threshold:
 * - durations and ratios (lower is better): the change relative to the mean; within ±10% is stable;
 * - success rates (each run 1 or 0, higher is better): the change in percentage points; within ±10 points is stable.
 * Fewer than 3 runs, or runs all at one instant, give `unknown`: a trend needs evidence.
 */
export type TrendDirection = 'improving' | 'stable' | 'degrading' | 'unknown';

export interface Trend {
  direction: TrendDirection;
  /** Units of the value per day (ms/day for durations, fraction/day for rates); null when unknown. */
  slope_per_day: number | null;
  /** The fitted change across the window's span: relative (durations) or in fraction points (rates). */
  change: number | null;
  samples: number;
  /** |change| at or below it is `stable`. */
  threshold: number;
  better: 'lower' | 'higher';
}

export const TREND_THRESHOLD = 0.1;
export const TREND_MIN_SAMPLES = 3;
const DAY_MS = 86_400_000;

/** `points`: [time ms, value]. */
export function trendOf(points: [number, number][], better: 'lower' | 'higher'): Trend {
  const n = points.length;
  const base = { samples: n, threshold: TREND_THRESHOLD, better };
  const span = n ? Math.max(...points.map((p) => p[0])) - Math.min(...points.map((p) => p[0])) : 0;
  if (n < TREND_MIN_SAMPLES || span <= 0) return { ...base, direction: 'unknown', slope_per_day: null, change: null };
  const mx = points.reduce((s, p) => s + p[0], 0) / n;
  const my = points.reduce((s, p) => s + p[1], 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const [x, y] of points) {
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) ** 2;
  }
  const slopePerMs = sxy / sxx;
  const fitted = slopePerMs * span;
  // Rates are compared in points; durations relative to their mean (all zero: nothing changed).
  const change = better === 'higher' ? fitted : my === 0 ? 0 : fitted / my;
  const signed = better === 'higher' ? change : -change;
  const direction: TrendDirection = Math.abs(change) <= TREND_THRESHOLD ? 'stable' : signed > 0 ? 'improving' : 'degrading';
  return { ...base, direction, slope_per_day: slopePerMs * DAY_MS, change };
}
