/**
 * Sizes as runbooks write them (`output_limit`): a number of bytes, or `512KiB`, `1MiB`, `10MB`.
 * KiB/MiB/GiB are powers of 1024, KB/MB/GB powers of 1000, as `ls`, `df -H` and the SI say.
 */
export const SIZE_PATTERN = '^[0-9]+(B|KB|KiB|MB|MiB|GB|GiB)$';

const UNIT: Record<string, number> = { B: 1, KB: 1e3, KiB: 1024, MB: 1e6, MiB: 1024 ** 2, GB: 1e9, GiB: 1024 ** 3 };

/** Bytes of a size (a number or a string matching SIZE_PATTERN), or undefined when it is not one. */
export function parseSize(v: string | number | undefined): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 ? v : undefined;
  if (v === undefined) return undefined;
  const m = /^([0-9]+)(B|KB|KiB|MB|MiB|GB|GiB)$/.exec(v);
  return m ? Number(m[1]) * UNIT[m[2]] : undefined;
}

/** The built-in `output_limit`: what a step prints is journaled up to this per stream (spec §12). */
export const DEFAULT_OUTPUT_LIMIT = 1024 * 1024;
