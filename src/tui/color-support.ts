/**
 * Whether to colour, the way the ecosystem decides it (chalk, Node's own `util.styleText`):
 * `FORCE_COLOR` forces colours on (even when piped) or off (`0`, `false`) and wins over everything;
 * `NO_COLOR` (set and not empty) turns them off; otherwise colours only on a terminal that is not `dumb`.
 * No ink/react here: the plain printer and the TUI's loader both use it.
 */
export type ColorLevel = 0 | 1 | 2 | 3;

export function colorLevel(env: NodeJS.ProcessEnv, isTTY: boolean): ColorLevel {
  const force = env.FORCE_COLOR;
  if (force !== undefined) {
    if (force === 'false' || force === '0') return 0;
    if (force === '' || force === 'true') return 1;
    const n = Number.parseInt(force, 10);
    return Number.isNaN(n) ? 1 : (Math.max(0, Math.min(3, n)) as ColorLevel);
  }
  if (env.NO_COLOR) return 0;
  if (!isTTY || env.TERM === 'dumb') return 0;
  if (env.COLORTERM === 'truecolor' || env.COLORTERM === '24bit') return 3;
  if (/-256(color)?$/i.test(env.TERM ?? '')) return 2;
  return 1;
}
