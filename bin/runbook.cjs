#!/usr/bin/env node
// `runbook`: runs the bundled CLI (dist/runbook.bundle.cjs, scripts/bundle.mjs) through a V8 code cache,
// so a start-up skips parsing and compiling what the last run of the same command compiled
// (docs/startup.md). Without the bundle (a tsc-only build) it runs dist/src/cli.js as before.
//
// The cache is one file per command, beside the bundle in dist/.v8-cache/, named after the bundle's
// size and mtime and this Node's version, so a rebuilt bundle or another Node never reads a stale
// one (V8 also refuses a cache made for another source length or flags). It is written only where
// the bundle itself is writable: a cache is code, and nobody who could not change the bundle may
// plant one. RUNBOOK_CODE_CACHE=0 turns it off.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const { createRequire } = require('node:module');

const dist = path.join(__dirname, '..', 'dist');

// `runbook --version` answers from package.json: nothing else is needed to say it.
if (process.argv.length === 3 && (process.argv[2] === '--version' || process.argv[2] === '-V')) {
  process.stdout.write(`${JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')).version}\n`);
  return;
}
// The cache is per command (src/cli.ts's commands); anything else, a command missing here included,
// shares the cache named 'other'.
const COMMANDS = new Set(['validate', 'plan', 'run', 'resume', 'attach', 'report', 'history', 'stats', 'drills', 'export', 'import', 'params', 'schema', '--help', '-h']);
const command = COMMANDS.has(process.argv[2]) ? process.argv[2].replace(/^-+/, '') : 'other';
const useCache = process.env.RUNBOOK_CODE_CACHE !== '0';

const cacheDir = path.join(dist, '.v8-cache');

/**
 * Evaluates a bundle as a CommonJS module through its code cache for this command; its exports.
 * With `grow`, an accepted cache is made again at exit when this run compiled more than it held: the
 * clients bundle serves steps of every kind, and a cache made by a run that used only some of them
 * (an HTTP check) would leave a drill's pg to compile on every start.
 */
const savers = [];
function load(name, grow = false) {
  const file = path.join(dist, `${name}.bundle.cjs`);
  // scripts/bundle.mjs makes the bundles pure ASCII, and latin1 is ASCII's fastest decoder (a one-byte
  // string, no UTF-8 validation: 3 ms against 5 for the 2.8 MB bundle).
  let source = fs.readFileSync(file, 'latin1');
  const stat = fs.statSync(file);
  const cacheFile = path.join(cacheDir, `${name}-${command}-${stat.size}-${Math.floor(stat.mtimeMs)}-${process.version}-${process.arch}.bin`);
  let cachedData;
  if (useCache) {
    try {
      cachedData = fs.readFileSync(cacheFile);
    } catch {
      cachedData = undefined;
    }
  }
  // The bundle keeps cli.js's #! line, which is no JavaScript inside a function.
  if (source.startsWith('#!')) source = `//${source.slice(2)}`;
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: file,
    cachedData,
  });
  const accepted = cachedData !== undefined && !script.cachedDataRejected;
  if (process.env.RUNBOOK_CODE_CACHE_DEBUG) process.stderr.write(`runbook: code cache ${!useCache ? 'off' : cachedData === undefined ? 'absent' : accepted ? 'accepted' : 'rejected'} (${cacheFile})\n`);
  if (useCache && (!accepted || grow)) {
    // Made at exit, so it holds every function this run compiled, not only the top level. (A thread
    // never sees the process's exit: it saves when the CLI stops it, src/steps/s3/thread.ts.)
    const save = () => {
      try {
        fs.accessSync(dist, fs.constants.W_OK);
        const data = script.createCachedData();
        // Grown by less than a twentieth: what this run compiled was (nearly) all in the cache.
        if (accepted && data.length < cachedData.length * 1.05) return;
        fs.mkdirSync(cacheDir, { recursive: true });
        const tmp = `${cacheFile}.${process.pid}.tmp`;
        fs.writeFileSync(tmp, data);
        fs.renameSync(tmp, cacheFile);
      } catch {
        // No cache: the next start-up compiles again, nothing else changes.
      }
    };
    process.once('exit', save);
    savers.push(save);
  }
  const mod = { exports: {}, filename: file, id: file, loaded: false };
  script.runInThisContext()(mod.exports, createRequire(file), mod, file, dist);
  return mod.exports;
}

// No bundle, or tsc has built since scripts/bundle.mjs last made or checked it (a `tsc`-only
// rebuild): the modules tsc wrote are the current code, so they run instead. The bundler's stamp,
// not the bundle's own mtime: a build that changed only examples/ leaves the bundle as it was.
function bundleIsCurrent() {
  const mtime = (name) => {
    try {
      return fs.statSync(path.join(dist, name)).mtimeMs;
    } catch {
      return undefined;
    }
  };
  const bundled = mtime('runbook.bundle.cjs');
  if (bundled === undefined) return false;
  const built = mtime('.tsbuildinfo');
  return built === undefined || built <= Math.max(bundled, mtime('.bundle-checked') ?? 0);
}
// A thread of the CLI (src/steps/s3/thread.ts) runs its own bundle, through its own code cache; it
// is started with `--runbook-thread <bundle>` as its argv (worker_threads itself is not required here:
// loading it costs every command).
if (process.argv[2] === '--runbook-thread') {
  globalThis[Symbol.for('runbook.saveCodeCache')] = () => savers.splice(0).forEach((save) => save());
  // Not grown: that would mean making the cache's data at every stop, to compare its size (~20 ms
  // of every run's end); made only when absent or refused.
  load(process.argv[3]);
  return;
}
if (!bundleIsCurrent()) {
  import(require('node:url').pathToFileURL(path.join(dist, 'src', 'cli.js')).href);
  return;
}
// The ES modules outside the bundle (the TUI, ssh2) are imported from here: code that vm.Script
// compiled has no import() of its own on Node 20.
globalThis[Symbol.for('runbook.import')] = (specifier) => import(specifier);
// The network clients (pg, undici, nodemailer) and the AWS SDK: bundles of their own, each read on
// the first use of one of its packages. (A run's s3 steps use the s3 thread's SDK, not this one.)
let clients;
let sdk;
globalThis[Symbol.for('runbook.client')] = (pkg) =>
  (pkg.startsWith('@aws-sdk/') ? (sdk ??= load('sdk', true)) : (clients ??= load('clients', true)))[pkg]();
// The threads of the bundled CLI run this launcher with a bundle of their own, through its code cache
// (src/steps/s3/thread.ts starts them here). None takes the process's node options: a thread would
// inherit them (`--input-type`, say, stops it).
const startThread = (bundle) => {
  const { Worker, SHARE_ENV } = require('node:worker_threads');
  return new Worker(__filename, { env: SHARE_ENV, execArgv: [], argv: ['--runbook-thread', bundle] });
};
globalThis[Symbol.for('runbook.startThread')] = startThread;
// `run <file>` of a runbook that talks to S3: the s3 thread (src/steps/s3/thread.ts) starts now, and
// loads the AWS SDK while this thread loads the CLI and checks the runbook, so that the first s3 step
// (a drill's first step) finds it ready. A hint only: the file is only searched for an `s3:` key here
// (a runbook that uses S3 only in a sub-runbook starts the thread on its first s3 step), and a thread
// started for nothing is stopped with the process.
if (command === 'run' && process.env.RUNBOOK_S3_THREAD !== '0' && !process.argv.includes('--dry-run')) {
  const file = process.argv.slice(3).find((a) => /\.ya?ml$/.test(a) && !a.startsWith('-'));
  let text = '';
  try {
    text = file ? fs.readFileSync(file, 'latin1') : '';
  } catch {
    // The CLI reports a missing file.
  }
  // `s3:` as a key, in block or flow style (`backups: { s3: { … } }`, `- { id: a, s3: { … } }`).
  if (/(?:^|[\s{,])s3:/m.test(text)) {
    const thread = startThread('s3-thread');
    thread.unref();
    globalThis[Symbol.for('runbook.s3Thread')] = thread;
  }
}
load('runbook');
