/**
 * Ink renders only the final frame when the environment says CI (`CI`, `CONTINUOUS_INTEGRATION`,
 * read once when Ink loads). The TUI starts only on a real terminal, where an operator — or a drill
 * recorded in a CI job — must see every frame. Imported first by `./index.ts`, so these are unset
 * while Ink loads; `restoreCiEnv()` puts them back before any step runs (steps inherit the env).
 */
const KEYS = ['CI', 'CONTINUOUS_INTEGRATION'] as const;
const saved = Object.fromEntries(KEYS.map((k) => [k, process.env[k]]));
for (const k of KEYS) process.env[k] = 'false';

export function restoreCiEnv(): void {
  for (const k of KEYS) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
}
