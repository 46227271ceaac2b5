/**
 * Set up the environment Ink reads once, when it loads, and put it back before any step runs (steps
 * inherit the env). Imported first by `./index.ts`, so this runs before Ink and chalk load.
 *
 * - Ink renders only the final frame when the environment says CI (`CI`, `CONTINUOUS_INTEGRATION`).
 *   The TUI starts only on a real terminal, where an operator — or a drill recorded in a CI job — must
 *   see every frame: they are unset while Ink loads.
 * - chalk (inside Ink) would then see `CI` and drop colours, and it ignores `NO_COLOR`: the colour
 *   decision is ours (`colorLevel`: `NO_COLOR`, `FORCE_COLOR`, `TERM=dumb`), handed to chalk as `FORCE_COLOR`.
 */
import { colorLevel } from './color-support.js';

const KEYS = ['CI', 'CONTINUOUS_INTEGRATION', 'FORCE_COLOR'] as const;
const saved = Object.fromEntries(KEYS.map((k) => [k, process.env[k]]));
const level = colorLevel(process.env, !!process.stdout.isTTY);
process.env.CI = 'false';
process.env.CONTINUOUS_INTEGRATION = 'false';
process.env.FORCE_COLOR = String(level);

export function restoreCiEnv(): void {
  for (const k of KEYS) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
}
