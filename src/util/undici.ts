/**
 * undici, for the steps that speak HTTP (http, notify, docker): this is the only module that loads it,
 * on first use (never for `validate`, nor for `plan` without `--preflight`).
 *
 * undici parses HTTP with llhttp compiled to WebAssembly. V8 starts that code on its baseline compiler
 * (Liftoff) and, by default, recompiles the parser with its optimising compiler (TurboFan) on a
 * background thread after a handful of responses: ~80–100 ms of one core (measured with `perf` on a
 * drill: its few health checks and notifications set it off while the backup was downloading, and it
 * ran on into the restore; on two cores that is one of them). A run makes tens of requests, and the
 * baseline parser costs microseconds more per response, so the recompilation pays for itself only after
 * tens of thousands. So llhttp's module is compiled and instantiated with a tiering budget ~550 times
 * V8's default (which counts the work a function has done): a process that does parse that many
 * responses still gets the optimised parser.
 *
 * Only for that instantiation (`withWasmTieringBudget`, which the bundled undici calls:
 * scripts/bundle.mjs): V8 keeps the budget each function was given when its module was compiled, and
 * every V8 flag that differs from its default changes the hash that code caches are checked against.
 * Left set, the flag made V8 refuse Node's own code cache of its built-in modules for the rest of the
 * process: each built-in loaded later compiled from source (2.4 times as long), and the s3 thread took
 * twice as long to start (44 against 22 ms, alone), which in a drill left its first LIST waiting.
 * Without the bundle (a tsc-only build), undici's own module is unpatched and the parser tiers up as V8
 * decides.
 */
import { createRequire } from 'node:module';
import type { Agent as AgentType, Dispatcher, Pool as PoolType, interceptors as Interceptors } from 'undici';

/**
 * The parts of undici this CLI uses: its Agent and Pool, the redirect interceptor, and `request`. Each
 * is required from its own module: undici's index also loads fetch, WebSocket, EventSource, its
 * caches and mocks, which no step uses. In the bundled CLI (scripts/bundle.mjs) these modules come
 * from the clients bundle. From index alone it cost ~12–17 ms of the interpreter's thread at the
 * first http or notify step (a drill's health check, beside the first S3 answers), these ~6.
 */
export interface Undici {
  Agent: typeof AgentType;
  Pool: typeof PoolType;
  interceptors: { redirect: typeof Interceptors.redirect };
  /** undici's `request(url, options)`: the request goes to `options.dispatcher` (a default Agent when there is none). */
  request(url: string | URL, options: Omit<Dispatcher.RequestOptions, 'origin' | 'path' | 'method'> & { method?: Dispatcher.HttpMethod; dispatcher?: Dispatcher }): Promise<Dispatcher.ResponseData>;
}

/** V8's `--wasm-tiering-budget` for llhttp's module (an int32). */
export const WASM_TIERING_BUDGET = 1_000_000_000;
/** V8's own default of `--wasm-tiering-budget` (Node 20's V8), restored after the instantiation. */
export const V8_DEFAULT_WASM_TIERING_BUDGET = 1_800_000;

/**
 * `make()` (a WebAssembly module's compilation and instantiation) with V8's tiering budget raised, then
 * set back to V8's default, so that no flag stays changed: `v8.cachedDataVersionTag()` is the same
 * after as before (test/util/undici.test.ts).
 */
export function withWasmTieringBudget<T>(make: () => T): T {
  const v8 = createRequire(import.meta.url)('node:v8') as typeof import('node:v8');
  v8.setFlagsFromString(`--wasm-tiering-budget=${WASM_TIERING_BUDGET}`);
  try {
    return make();
  } finally {
    v8.setFlagsFromString(`--wasm-tiering-budget=${V8_DEFAULT_WASM_TIERING_BUDGET}`);
  }
}

let undici: Undici | undefined;

/** undici, loaded on the first call. (Synchronous: an http connection's `open` uses its Agent at once.) */
export function loadUndici(): Undici {
  if (!undici) {
    // The bundled undici compiles llhttp through this at its first connection (scripts/bundle.mjs).
    (globalThis as Record<symbol, unknown>)[Symbol.for('runbook.wasmTieringBudget')] = withWasmTieringBudget;
    // (Each a literal createRequire call: the bundler maps them to the clients bundle.)
    const Agent = createRequire(import.meta.url)('undici/lib/dispatcher/agent') as typeof AgentType;
    const Pool = createRequire(import.meta.url)('undici/lib/dispatcher/pool') as typeof PoolType;
    const DispatcherClass = createRequire(import.meta.url)('undici/lib/dispatcher/dispatcher') as { prototype: object };
    const api = createRequire(import.meta.url)('undici/lib/api') as object;
    const redirect = createRequire(import.meta.url)('undici/lib/interceptor/redirect') as typeof Interceptors.redirect;
    // What undici's index does: request, stream, pipeline, upgrade and connect become methods of every dispatcher.
    Object.assign(DispatcherClass.prototype, api);
    let fallback: Dispatcher | undefined;
    undici = {
      Agent,
      Pool,
      interceptors: { redirect },
      // undici's own `request(url, options)` (index.js): the URL split into origin and path for the dispatcher.
      request(url, options) {
        const u = typeof url === 'string' ? new URL(url) : url;
        if (!/^https?:$/.test(u.protocol)) throw new TypeError(`invalid URL protocol: ${u.href} (http: or https: only)`);
        const { dispatcher = (fallback ??= new Agent()), ...rest } = options;
        return dispatcher.request({ ...rest, origin: u.origin, path: `${u.pathname}${u.search}`, method: options.method ?? (options.body ? 'PUT' : 'GET') });
      },
    };
  }
  return undici;
}
