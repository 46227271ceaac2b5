// Cost of a shell step against a bare spawn: mean ms over 200 runs of /bin/true each way.
// Usage: npx tsc -p . && node bench/shell-spawn.mjs [path/to/built/shell.js]
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const RUNS = 200;
const WARMUP = 10;
const modulePath = resolve(process.argv[2] ?? 'dist/src/steps/shell/index.js');
const { shellStep } = await import(pathToFileURL(modulePath).href);

const ctx = {
  signal: new AbortController().signal,
  runId: 'bench',
  stepId: 'true',
  baseDir: process.cwd(),
  env: process.env,
  output: () => {},
  progress: () => {},
  connection: () => Promise.reject(new Error('no connections')),
};

const plainSpawn = () =>
  new Promise((done, fail) => {
    const child = spawn('/bin/true', [], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.on('error', fail);
    child.on('close', done);
  });

const cases = [
  ['child_process.spawn /bin/true + wait', plainSpawn],
  ["shellStep command: ['/bin/true']", () => shellStep.execute({ command: ['/bin/true'] }, ctx)],
  ["shellStep run: 'true'", () => shellStep.execute({ run: 'true' }, ctx)],
];

async function measure(fn) {
  for (let i = 0; i < WARMUP; i++) await fn();
  const started = performance.now();
  for (let i = 0; i < RUNS; i++) await fn();
  return (performance.now() - started) / RUNS;
}

const results = [];
// Interleave two passes so load changes on a shared machine hit every case alike.
for (let pass = 0; pass < 2; pass++) {
  for (const [i, [, fn]] of cases.entries()) results[i] = (results[i] ?? 0) + (await measure(fn)) / 2;
}
const base = results[0];
console.log(`${RUNS} runs each (x2 passes), mean ms per run:`);
for (const [i, [name]] of cases.entries()) {
  console.log(`  ${name.padEnd(40)} ${results[i].toFixed(2).padStart(7)} ms  (${(results[i] / base).toFixed(2)}x spawn)`);
}
const worst = Math.max(results[1], results[2]) / base;
console.log(worst <= 2 ? `OK: shell step within 2x of spawn (${worst.toFixed(2)}x)` : `OVER TARGET: shell step is ${worst.toFixed(2)}x spawn (target <= 2x)`);
