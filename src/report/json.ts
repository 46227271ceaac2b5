/** `--format json`: the `RunReport` model itself, pretty-printed, for other tools to consume. */
import type { RunReport } from './types.js';

export function renderJson(r: RunReport): string {
  return `${JSON.stringify(r, null, 2)}\n`;
}
