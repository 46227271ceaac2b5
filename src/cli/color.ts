/**
 * How the views colour (the TUI and the plain lines). The `color` setting decides first, resolved by
 * config.ts in its order (`--color`/`--no-color` > RUNBOOK_COLOR > `color:` in runbook.config.yaml):
 * `always` and `never` are obeyed; `auto`, the default, follows the ecosystem's conventions
 * (color-support.ts: FORCE_COLOR, then NO_COLOR, then a terminal). A setting or a flag the user gave
 * overrides NO_COLOR and FORCE_COLOR, as no-color.org asks of configuration files and flags.
 */
import { colorLevel, type ColorLevel } from '../tui/color-support.js';
import { cliConfig, type ColorMode } from './config.js';

export function viewColorLevel(mode: ColorMode, env: NodeJS.ProcessEnv, isTTY: boolean): ColorLevel {
  if (mode === 'never') return 0;
  // As deep as the terminal would take, and colours at least, wherever the output goes.
  if (mode === 'always') return Math.max(1, colorLevel({ ...env, FORCE_COLOR: undefined, NO_COLOR: undefined }, true)) as ColorLevel;
  return colorLevel(env, isTTY);
}

/** The colour level of this process's views on stdout, with the `--color`/`--no-color` flag if given. */
export function outputColorLevel(flag?: boolean): ColorLevel {
  return viewColorLevel(cliConfig({ color: flag }).color, process.env, !!process.stdout.isTTY);
}

/**
 * Loads the TUI with its colours at `level`: chalk (inside Ink) reads FORCE_COLOR once, when it loads
 * (src/tui/ink-live.ts hands it on). The variable is put back once loaded, before any step runs.
 */
export async function loadWithColorLevel<T>(level: ColorLevel, load: () => Promise<T>): Promise<T> {
  const before = process.env.FORCE_COLOR;
  process.env.FORCE_COLOR = String(level);
  try {
    return await load();
  } finally {
    if (before === undefined) delete process.env.FORCE_COLOR;
    else process.env.FORCE_COLOR = before;
  }
}
