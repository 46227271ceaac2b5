/**
 * Nearest-rank percentile: sort ascending, take the value at rank ⌈p/100 · n⌉ (1-based, at least 1).
 * Always one of the observed values — no interpolation — so p50 of [1, 2, 3, 4] is 2 and p95 of
 * 20 values is the 19th smallest.
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new RangeError('percentile of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1];
}

export interface DurationStats {
  n: number;
  p50: number;
  p95: number;
}

export function durationStats(values: readonly number[]): DurationStats {
  return { n: values.length, p50: percentile(values, 50), p95: percentile(values, 95) };
}
