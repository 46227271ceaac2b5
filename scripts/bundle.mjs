// The CLI as one CommonJS file, dist/runbook.bundle.cjs, that bin/runbook.cjs compiles with a V8 code
// cache (docs/startup.md); the network clients as a second (dist/clients.bundle.cjs), the AWS SDK for
// this thread as a third (dist/sdk.bundle.cjs), and the s3 step's thread with the SDK as a fourth
// (dist/s3-thread.bundle.cjs), each with a cache of its own.
// Built from tsc's output (dist/src), so the bundle runs the same code the tests run module by module. Every module still evaluates only when first imported: esbuild turns the
// lazy `await import('./x.js')` into a lazily called init function, and `createRequire(...)('pkg')`
// into a lazily called `require('pkg')` that is bundled too.
//
// Left outside the bundle, loaded from dist/src and node_modules as before:
//   - the TUI (src/tui/index.js and everything under it): ink and yoga-layout are ES modules with
//     top-level await, which a CommonJS file cannot require; the launcher imports it;
//   - ssh2 (an optional native addon), pg-native (pg's optional native driver), and the PostgreSQL
//     store's worker thread, which is its own file.
// Usage: node scripts/bundle.mjs [--force]   (npm run build runs it after tsc; it does nothing when
// the bundles are newer than everything they are made from, so the code caches survive a no-op build)
import { build } from 'esbuild';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist');
const SRC = join(DIST, 'src');
const OUT = join(DIST, 'runbook.bundle.cjs');
const CLIENTS_OUT = join(DIST, 'clients.bundle.cjs');
/** The AWS SDK, for what this thread does with S3 itself (`plan --preflight`, RUNBOOK_S3_THREAD=0);
 * a run's s3 steps use the s3 thread's bundle. */
const SDK_OUT = join(DIST, 'sdk.bundle.cjs');
/** The s3 step's thread (src/steps/s3/worker.js) with the AWS SDK in it: a bundle and a code cache of
 * its own, so that the thread is ready while the run is being set up. */
const S3_THREAD_OUT = join(DIST, 's3-thread.bundle.cjs');
/** Written each time this script has made the bundles or found them current, after tsc: the launcher
 * runs the bundle only when this is newer than tsc's last build (dist/.tsbuildinfo), which tsc also
 * writes for a change outside dist/src (examples/) that leaves the bundles current. */
const CHECKED = join(DIST, '.bundle-checked');
/** The modules of undici that src/util/undici.ts requires, not its index (which also loads fetch,
 * WebSocket, EventSource, caches and mocks: ~0.5 MB no step uses). */
const UNDICI_PARTS = ['undici/lib/dispatcher/agent', 'undici/lib/dispatcher/pool', 'undici/lib/dispatcher/dispatcher', 'undici/lib/api', 'undici/lib/interceptor/redirect'];
/** The network clients: most of the code by size (~3 MB), needed only by the steps that talk to a
 * service. They are bundles with a code cache of their own, loaded on the first require of one of
 * them, so that `validate`, `plan` and a shell-only run never read them. The AWS SDK is a bundle of
 * its own: a run's s3 steps use the s3 thread's copy, and reading ~1.4 MB of SDK with pg and undici
 * cost this thread ~6 ms at a drill's first sql step, while the backup downloads beside it. */
const SDK_CLIENTS = ['@aws-sdk/client-s3', '@aws-sdk/lib-storage'];
const CLIENTS = ['pg', ...UNDICI_PARTS, 'nodemailer'];
const require = createRequire(join(ROOT, 'package.json'));
const chevrotainBundle = join(dirname(require.resolve('chevrotain')), '..', 'chevrotain.mjs');

/**
 * Whether all the bundles are newer than what they are made from: tsc's output (an incremental tsc that
 * changed nothing writes nothing), the installed packages (package-lock.json) and this script.
 */
function upToDate() {
  const mtime = (f) => {
    try {
      return statSync(f).mtimeMs;
    } catch {
      return undefined;
    }
  };
  const built = Math.min(...[OUT, CLIENTS_OUT, SDK_OUT, S3_THREAD_OUT].map((f) => mtime(f) ?? -Infinity));
  let newest = Math.max(mtime(join(ROOT, 'package-lock.json')) ?? 0, mtime(fileURLToPath(import.meta.url)) ?? 0);
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const f = join(dir, e.name);
      if (e.isDirectory()) walk(f);
      else newest = Math.max(newest, mtime(f) ?? 0);
    }
  };
  walk(SRC);
  return built > newest;
}
if (!process.argv.includes('--force') && upToDate()) {
  writeFileSync(CHECKED, '');
  console.log('bundle: up to date');
  process.exit(0);
}

/** dist-relative POSIX path of a built file, as `__rbUrl` takes it. */
const distPath = (file) => relative(DIST, file).split(sep).join('/');
/** A dynamically imported module left to load at run time as an ES module (the TUI, src/tui/index.js).
 * Static imports are bundled whatever their folder: the plain printer (src/tui/plain.js) is in it. */
const outside = (file) => file.startsWith(join(SRC, 'tui') + sep);

const EXTERNAL = ['ssh2', 'pg-native', 'cpu-features'];

const rewrite = {
  name: 'runbook-dist',
  setup(b) {
    b.onLoad({ filter: /\.js$/ }, async (args) => {
      if (!args.path.startsWith(SRC + sep)) return undefined;
      const here = distPath(args.path);
      if (here === 'src/dsl/expr/chevrotain.js') {
        // The single-file build of chevrotain (the package entry pulls in ~650 lodash-es modules).
        return { contents: `export { EmbeddedActionsParser, EOF, createToken, Lexer } from ${JSON.stringify(chevrotainBundle)};`, loader: 'js' };
      }
      let text = await readFile(args.path, 'utf8');
      // A lazily loaded package is bundled, and still loaded only when first asked for.
      text = text.replace(/createRequire\(import\.meta\.url\)\((['"][^'"]+['"])\)/g, 'require($1)');
      // The TUI stays an ES module, imported from its built file beside the bundle.
      text = text.replace(/import\((['"])(\.{1,2}\/[^'"]+)\1\)/g, (whole, _q, spec) => {
        const target = resolve(dirname(args.path), spec);
        return outside(target) ? `__rbImport(__rbUrl(${JSON.stringify(distPath(target))}))` : whole;
      });
      // An ES module import of a package left outside, too (ssh2).
      text = text.replace(/import\((['"])([^'".][^'"]*)\1\)/g, (whole, _q, spec) => (EXTERNAL.includes(spec) ? `__rbImport(${JSON.stringify(spec)})` : whole));
      // Each module keeps its own location: paths it builds from import.meta.url (package.json,
      // schema/, the store's worker) resolve as they do in dist/src.
      text = text.replace(/\bimport\.meta\.url\b/g, `__rbUrl(${JSON.stringify(here)})`);
      return { contents: text, loader: 'js', resolveDir: dirname(args.path) };
    });
  },
};

/** In the CLI bundle, a client package is taken from the clients or the SDK bundle through the launcher. */
const clients = {
  name: 'runbook-clients',
  setup(b) {
    const filter = new RegExp(`^(${[...CLIENTS, ...SDK_CLIENTS].map((c) => c.replace(/[/.]/g, '\\$&')).join('|')})$`);
    b.onResolve({ filter }, (args) => ({ path: args.path, namespace: 'runbook-client' }));
    b.onLoad({ filter: /.*/, namespace: 'runbook-client' }, (args) => ({
      contents: `module.exports = globalThis[Symbol.for('runbook.client')](${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
  },
};

/**
 * A plugin that changes one text in one file of a dependency as it is bundled. The build stops when
 * the text is not there, so that an update of the package cannot drop the change silently.
 */
function patchDependency(name, file, text, replacement) {
  return {
    name: `runbook-${name}`,
    setup(b) {
      b.onLoad({ filter: new RegExp(`[\\\\/]node_modules[\\\\/]${file.replace(/[/.]/g, (c) => (c === '/' ? '[\\\\/]' : '\\.'))}$`) }, async (args) => {
        const source = await readFile(args.path, 'utf8');
        if (!source.includes(text)) throw new Error(`${args.path}: ${JSON.stringify(text)} not found (the package changed: review scripts/bundle.mjs's ${name})`);
        return { contents: source.replace(text, replacement), loader: 'js' };
      });
    },
  };
}

/**
 * The clients bundle runs on Node only. pg asks at load time whether it runs on Cloudflare Workers,
 * and on Node 20 (no `navigator`) it finds out by making a `new Response()`, which loads Node's own
 * fetch implementation: 10 ms of the first sql step, for an answer known when bundling.
 */
const cloudflareProbe = 'function isCloudflareRuntime() {';
const nodeOnly = patchDependency('nodeOnly', 'pg/lib/stream.js', cloudflareProbe, `${cloudflareProbe}\n  return false; // runbook: Node only (scripts/bundle.mjs)`);

/**
 * commander loads `child_process` (and with it `net`, `dgram` and the streams) when it loads, for the
 * executable subcommands this CLI does not have: 2–4 ms of every start-up. In the CLI bundle it
 * loads the module on a first spawn instead.
 */
const lazyCommanderSpawn = patchDependency(
  'lazyCommanderSpawn',
  'commander/lib/command.js',
  "const childProcess = require('node:child_process');",
  "const childProcess = { spawn: (...a) => require('node:child_process').spawn(...a) }; // runbook: loaded on first use (scripts/bundle.mjs)",
);

/**
 * undici's client loads its HTTP/2 client (and with it `node:http2` and `node:tls`) when it loads,
 * although a connection only speaks HTTP/2 when it negotiates it over TLS with `allowH2`, which no
 * step sets: ~4 ms of the interpreter's thread at a drill's first health check, while the backup
 * downloads beside it on a two-core machine. In the clients bundle it loads on the first HTTP/2
 * connection instead.
 */
const lazyUndiciH2 = patchDependency(
  'lazyUndiciH2',
  'undici/lib/dispatcher/client.js',
  "const connectH2 = require('./client-h2.js')",
  "const connectH2 = (...a) => require('./client-h2.js')(...a) // runbook: loaded on first use (scripts/bundle.mjs)",
);

/**
 * undici compiles llhttp, its WebAssembly HTTP parser, at its first connection: through
 * src/util/undici.ts's `withWasmTieringBudget` (which its loader installs), so that the parser keeps
 * to V8's baseline compiler for a run's few responses while no V8 flag stays changed (see there).
 */
const llhttpBudget = patchDependency(
  'llhttpBudget',
  'undici/lib/dispatcher/client-h1.js',
  '    llhttpInstance = lazyllhttp()',
  "    llhttpInstance = globalThis[Symbol.for('runbook.wasmTieringBudget')]?.(lazyllhttp) ?? lazyllhttp() // runbook: scripts/bundle.mjs",
);

/** A clients bundle's entry: each package evaluates on its first require only. */
const clientIndex = (packages, sourcefile) => ({
  contents: `module.exports = {\n${packages.map((c) => `  ${JSON.stringify(c)}: () => require(${JSON.stringify(c)}),`).join('\n')}\n};\n`,
  resolveDir: ROOT,
  sourcefile,
});

const common = { bundle: true, format: 'cjs', platform: 'node', target: 'node20', logLevel: 'warning', legalComments: 'none', metafile: true };
const clientsResult = await build({
  ...common,
  stdin: clientIndex(CLIENTS, 'clients.js'),
  outfile: CLIENTS_OUT,
  external: ['pg-native'],
  plugins: [nodeOnly, lazyUndiciH2, llhttpBudget],
});
const sdkResult = await build({
  ...common,
  stdin: clientIndex(SDK_CLIENTS, 'sdk.js'),
  outfile: SDK_OUT,
});

const result = await build({
  entryPoints: [join(SRC, 'cli.js')],
  outfile: OUT,
  ...common,
  // Native or optional pieces, resolved from node_modules at run time as before.
  external: EXTERNAL,
  banner: {
    js: [
      '"use strict";',
      // A built module's URL from its dist-relative path: the bundle lives in dist/.
      'const __rbUrl = (p) => require("node:url").pathToFileURL(require("node:path").join(__dirname, p)).href;',
      // import() of an ES module, done by the launcher: code compiled by vm.Script with a code cache
      // has no dynamic-import callback of its own on Node 20.
      'const __rbImport = (s) => globalThis[Symbol.for("runbook.import")](s);',
    ].join('\n'),
  },
  plugins: [rewrite, clients, lazyCommanderSpawn],
});
// The s3 thread: its own code and the SDK in one bundle (the SDK's ~1 MB is also in the clients
// bundle, which the thread does not load: it needs none of the other clients).
const s3ThreadResult = await build({
  entryPoints: [join(SRC, 'steps/s3/worker.js')],
  outfile: S3_THREAD_OUT,
  ...common,
  // The SDK's ES modules (its packages' `module` builds; they declare no side effects), so that what the
  // thread does not use is left out: 1.4 → 1.2 MB, and the thread's bundle evaluates in ~26 ms instead of
  // ~40 (it starts with the CLI and must be ready for a drill's first step). Their `import()` of Node's
  // own modules becomes require(): code compiled by vm.Script with a code cache has no dynamic-import
  // callback on Node 20 (see the CLI bundle's __rbImport).
  mainFields: ['module', 'main'],
  supported: { 'dynamic-import': false },
  banner: { js: '"use strict";\nconst __rbUrl = (p) => require("node:url").pathToFileURL(require("node:path").join(__dirname, p)).href;' },
  plugins: [rewrite],
});
await asciiOnly(CLIENTS_OUT);
await asciiOnly(SDK_OUT);
await asciiOnly(OUT);
await asciiOnly(S3_THREAD_OUT);
writeFileSync(CHECKED, '');
const mb = (r) => (Object.values(r.metafile.outputs)[0].bytes / 1024 / 1024).toFixed(1);
// Caches made for an earlier build are never read again (their names carry its size and mtime).
await rm(join(DIST, '.v8-cache'), { recursive: true, force: true });
console.log(`bundle: ${relative(ROOT, OUT)} (${mb(result)} MB), ${relative(ROOT, CLIENTS_OUT)} (${mb(clientsResult)} MB), ${relative(ROOT, SDK_OUT)} (${mb(sdkResult)} MB), ${relative(ROOT, S3_THREAD_OUT)} (${mb(s3ThreadResult)} MB)`);

/**
 * Makes a bundle pure ASCII. esbuild escapes non-ASCII characters in code, but not in the comments it
 * keeps (`—`, `…`, `→`, `’`), and one such character makes Node decode the whole file as UTF-8 into a
 * two-byte string: 9 ms for the 2.8 MB bundle at every start-up, against 3 ms for ASCII. A comment's
 * character is written as its \u escape; a non-ASCII character anywhere but in a comment stops the
 * build, since an escape could change what the code means there (String.raw, say).
 */
async function asciiOnly(file) {
  const text = await readFile(file, 'utf8');
  const out = text.replace(/[^\x00-\x7f]/g, (ch, at) => {
    const lineStart = text.lastIndexOf('\n', at) + 1;
    const before = text.slice(lineStart, at);
    if (!before.includes('//') && !/^\s*(\*|\/\*)/.test(before)) {
      throw new Error(`${relative(ROOT, file)}: a non-ASCII character outside a comment: ${JSON.stringify(text.slice(lineStart, at + 20))}`);
    }
    return `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
  if (out !== text) await writeFile(file, out);
}
