/**
 * src/util/undici.ts: undici's llhttp parser (WebAssembly) is compiled with a raised tiering budget, so
 * that a run's handful of HTTP responses does not set off a background recompilation of the parser
 * (~80–100 ms of a core in a drill, measured with perf), and V8's flags are then as they were, so that
 * Node's own code caches stay valid.
 *
 * Checked on a small WebAssembly function with a hot loop, in a fresh process each (V8's natives tell
 * which compiler made a function's code): by default V8 recompiles it with TurboFan after this much
 * work; compiled through `withWasmTieringBudget` it stays on Liftoff, and V8's code cache tag is the
 * same after as before. The bundled undici (scripts/bundle.mjs) compiles llhttp through it.
 *
 * And the loader loads only the parts of undici the steps use (not its index, with fetch, WebSocket
 * and the rest); its `request(url, options)` sends to the given dispatcher or to a default Agent.
 */
import { describe, expect, it } from 'vitest';
import { runModuleScript } from '../helpers/cli.js';

const undici = new URL('../../dist/src/util/undici.js', import.meta.url).href;

// (func (export "f") (param $n i32) (result i32): the sum n + (n-1) + … + 1, a loop of n turns.
const WASM = [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 6, 1, 0x60, 1, 0x7f, 1, 0x7f, 3, 2, 1, 0, 7, 5, 1, 1, 0x66, 0, 0, 0x0a, 0x23, 1, 0x21, 1, 1, 0x7f, 2, 0x40, 3, 0x40, 0x20, 0, 0x45, 0x0d, 1, 0x20, 1, 0x20, 0, 0x6a, 0x21, 1, 0x20, 0, 0x41, 1, 0x6b, 0x21, 0, 0x0c, 0, 0x0b, 0x0b, 0x20, 1, 0x0b];

/** Whether the hot function ends up on TurboFan within 3 s, compiled through `withWasmTieringBudget` or not. */
async function tieredUp(throughBudget: boolean): Promise<boolean> {
  const make = `() => new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array(${JSON.stringify(WASM)})))`;
  const script = `
    const v8 = (await import('node:v8')).default;
    const tag = v8.cachedDataVersionTag();
    ${throughBudget ? `const { withWasmTieringBudget } = await import(${JSON.stringify(undici)}); const { f } = withWasmTieringBudget(${make}).exports;` : `const { f } = (${make})().exports;`}
    // No V8 flag stays changed.
    if (v8.cachedDataVersionTag() !== tag) process.exit(5);
    if (f(4) !== 10) process.exit(4);
    for (let i = 0; i < 20; i++) f(100000);
    const started = Date.now();
    // Tier-up is compiled on a background thread: wait for it.
    while (Date.now() - started < 3000 && !%IsTurboFanFunction(f)) { await new Promise((r) => setTimeout(r, 20)); f(10); }
    console.log(JSON.stringify({ turbofan: %IsTurboFanFunction(f), liftoff: %IsLiftoffFunction(f) }));`;
  const { code, stdout, stderr } = await runModuleScript(script, 20_000, ['--allow-natives-syntax']);
  expect(code, stderr).toBe(0);
  const seen = JSON.parse(stdout.trim()) as { turbofan: boolean; liftoff: boolean };
  expect(seen.turbofan).not.toBe(seen.liftoff);
  return seen.turbofan;
}

describe('undici loader', () => {
  it('by default, V8 recompiles hot WebAssembly with TurboFan (the check below can fail)', async () => {
    expect(await tieredUp(false)).toBe(true);
  });

  it('compiled through withWasmTieringBudget, the same work stays on the baseline compiler, and no V8 flag stays changed', async () => {
    expect(await tieredUp(true)).toBe(false);
  });

  it('the bundled undici compiles llhttp through the loader\'s withWasmTieringBudget at its first connection, once', async () => {
    const bundle = new URL('../../dist/clients.bundle.cjs', import.meta.url).pathname;
    const script = `
      import { createServer } from 'node:http';
      import { createRequire } from 'node:module';
      import v8 from 'node:v8';
      const { loadUndici } = await import(${JSON.stringify(undici)});
      loadUndici();
      const hook = Symbol.for('runbook.wasmTieringBudget');
      const budget = globalThis[hook];
      let calls = 0;
      globalThis[hook] = (make) => { calls++; return budget(make); };
      const clients = createRequire(import.meta.url)(${JSON.stringify(bundle)});
      const Agent = clients['undici/lib/dispatcher/agent']();
      Object.assign(clients['undici/lib/dispatcher/dispatcher']().prototype, clients['undici/lib/api']());
      const server = createServer((req, res) => res.end('ok'));
      await new Promise((r) => server.listen(0, '127.0.0.1', r));
      const tag = v8.cachedDataVersionTag();
      const agent = new Agent();
      const texts = [];
      for (let i = 0; i < 3; i++) {
        const r = await agent.request({ origin: 'http://127.0.0.1:' + server.address().port, path: '/', method: 'GET' });
        texts.push(await r.body.text());
      }
      await agent.close();
      server.close();
      console.log(JSON.stringify({ calls, texts, tag: v8.cachedDataVersionTag() === tag }));`;
    const { code, stdout, stderr } = await runModuleScript(script);
    expect(code, stderr).toBe(0);
    expect(JSON.parse(stdout.trim())).toEqual({ calls: 1, texts: ['ok', 'ok', 'ok'], tag: true });
  });
});

describe('undici loader: the parts the steps use', () => {
  it("loads undici's Agent, Pool, redirect interceptor and request without its index; request goes to the dispatcher given, or a default Agent", async () => {
    const script = `
      import { createServer } from 'node:http';
      import { createRequire } from 'node:module';
      const { loadUndici } = await import(${JSON.stringify(undici)});
      const u = loadUndici();
      const seen = [];
      const server = createServer((req, res) => { seen.push(req.method + ' ' + req.url); res.end('hi ' + req.url); });
      await new Promise((r) => server.listen(0, '127.0.0.1', r));
      const base = 'http://127.0.0.1:' + server.address().port;
      const agent = new u.Agent();
      const a = await u.request(base + '/a?x=1', { method: 'POST', body: 'b', dispatcher: agent });
      const b = await u.request(new URL(base + '/b'), {});
      let bad = '';
      try { await u.request('ftp://127.0.0.1/x', {}); } catch (e) { bad = e.message; }
      const out = { a: [a.statusCode, await a.body.text()], b: [b.statusCode, await b.body.text()], seen, bad,
        index: Object.keys(createRequire(import.meta.url).cache).filter((k) => /node_modules\\/undici\\/index\\.js$/.test(k)),
        pool: typeof u.Pool, redirect: typeof u.interceptors.redirect };
      await agent.close();
      server.close();
      console.log(JSON.stringify(out));
      process.exit(0);`;
    const { code, stdout, stderr } = await runModuleScript(script);
    expect(code, stderr).toBe(0);
    const out = JSON.parse(stdout.trim());
    expect(out).toMatchObject({ a: [200, 'hi /a?x=1'], b: [200, 'hi /b'], seen: ['POST /a?x=1', 'GET /b'], index: [], pool: 'function', redirect: 'function' });
    expect(out.bad).toMatch(/invalid URL protocol: ftp:/);
  });
});
