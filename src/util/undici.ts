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

/** V8's `--wasm-tiering-budget` (default 1,800,000; an int32). */
export const WASM_TIERING_BUDGET = 1_000_000_000;

let undici: Undici | undefined;

/** undici, loaded on the first call. (Synchronous: an http connection's `open` uses its Agent at once.) */
export function loadUndici(): Undici {
  if (!undici) {
    // Before the first connection, where undici compiles llhttp (the same value the launcher set, if it did).
    (createRequire(import.meta.url)('node:v8') as typeof import('node:v8')).setFlagsFromString(`--wasm-tiering-budget=${WASM_TIERING_BUDGET}`);
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
