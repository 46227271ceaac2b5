/**
 * src/util/undici.ts: loading undici first tells V8 to keep WebAssembly (undici's llhttp parser) on its
 * baseline compiler, so that a run's handful of HTTP responses does not set off a background
 * recompilation of the parser (~80–100 ms of a core in a drill, measured with perf).
 *
 * Checked on a small WebAssembly function with a hot loop, in a fresh process each (V8's natives tell
 * which compiler made a function's code): without undici's loader V8 recompiles it with TurboFan after
 * this much work, after the loader it stays on Liftoff.
 *
 * And the loader loads only the parts of undici the steps use (not its index, with fetch, WebSocket
 * and the rest); its `request(url, options)` sends to the given dispatcher or to a default Agent.
 */
import { describe, expect, it } from 'vitest';
import { runModuleScript } from '../helpers/cli.js';

const undici = new URL('../../dist/src/util/undici.js', import.meta.url).href;

// (func (export "f") (param $n i32) (result i32): the sum n + (n-1) + … + 1, a loop of n turns.
const WASM = [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 6, 1, 0x60, 1, 0x7f, 1, 0x7f, 3, 2, 1, 0, 7, 5, 1, 1, 0x66, 0, 0, 0x0a, 0x23, 1, 0x21, 1, 1, 0x7f, 2, 0x40, 3, 0x40, 0x20, 0, 0x45, 0x0d, 1, 0x20, 1, 0x20, 0, 0x6a, 0x21, 1, 0x20, 0, 0x41, 1, 0x6b, 0x21, 0, 0x0c, 0, 0x0b, 0x0b, 0x20, 1, 0x0b];

/** Whether the hot function ends up on TurboFan within 3 s, after undici's loader ran or not. */
async function tieredUp(loadFirst: boolean): Promise<boolean> {
  const script = `
    ${loadFirst ? `const { loadUndici } = await import(${JSON.stringify(undici)}); if (typeof loadUndici().request !== 'function') process.exit(3);` : ''}
    const { f } = new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array(${JSON.stringify(WASM)}))).exports;
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

  it('after undici is loaded, the same work stays on the baseline compiler', async () => {
    expect(await tieredUp(true)).toBe(false);
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
