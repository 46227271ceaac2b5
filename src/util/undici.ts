/**
 * undici, for the steps that speak HTTP (http, notify, docker): this is the only module that loads it,
 * on first use (never for `validate`, nor for `plan` without `--preflight`), and it first tells V8 to leave WebAssembly on its
 * baseline compiler far longer than V8 does by default.
 *
 * undici parses HTTP with llhttp compiled to WebAssembly. V8 starts that code on its baseline compiler
 * (Liftoff) and, by default, recompiles the parser with its optimising compiler (TurboFan) on a
 * background thread after a handful of responses: ~80–100 ms of one core (measured with `perf` on a
 * drill: its few health checks and notifications set it off while the backup was downloading, and it
 * ran on into the restore; on two cores that is one of them). A run makes tens of requests, and the
 * baseline parser costs microseconds more per response, so the recompilation pays for itself only after
 * tens of thousands. With the budget below (~550 times V8's default, which counts the work a function
 * has done) a process that does parse that many still gets the optimised parser. ssh2's Poly1305
 * (WebAssembly too) shares the setting in those commands.
 *
 * V8 refuses a code cache made under other flags: the installed command (bin/runbook.cjs) sets the same
 * value as it starts `run`, `resume` and `plan`, before any bundle loads, so that setting it here
 * changes nothing and every code cache of those commands stays valid.
 */
import { createRequire } from 'node:module';

type Undici = typeof import('undici');

/** V8's `--wasm-tiering-budget` (default 1,800,000; an int32). */
export const WASM_TIERING_BUDGET = 1_000_000_000;

let undici: Undici | undefined;

/** undici, loaded on the first call. (Synchronous: an http connection's `open` uses its Agent at once.) */
export function loadUndici(): Undici {
  if (!undici) {
    // Before the first connection, where undici compiles llhttp (the same value the launcher set, if it did).
    (createRequire(import.meta.url)('node:v8') as typeof import('node:v8')).setFlagsFromString(`--wasm-tiering-budget=${WASM_TIERING_BUDGET}`);
    undici = createRequire(import.meta.url)('undici') as Undici;
  }
  return undici;
}
