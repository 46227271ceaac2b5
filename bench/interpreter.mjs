// Interpreter overhead, concurrency and journal fsync cost, measured on the built dist/ (in-process
// Runner: no CLI start-up, no view). Prints every figure against its target; exits 1 when one is missed.
// Usage: npx tsc -p . && node bench/interpreter.mjs [dist folder]
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const dist = resolve(process.argv[2] ?? 'dist');
const imp = (p) => import(pathToFileURL(join(dist, p)).href);
const { loadRunbook, allDiagnostics } = await imp('src/dsl/validate.js');
const { Runner } = await imp('src/interpreter/run.js');
const { autoDecider } = await imp('src/interpreter/decisions.js');

const work = mkdtempSync(join(tmpdir(), 'runbook-bench-'));
const shmRoot = existsSync('/dev/shm') ? mkdtempSync('/dev/shm/runbook-bench-') : undefined;
let missed = 0;

function report(name, value, unit, target, ok) {
  if (!ok) missed++;
  console.log(`${ok ? 'ok    ' : 'MISSED'} ${name}: ${value}${unit}  (target ${target})`);
}

function writeRunbook(name, text) {
  const file = join(work, `${name}.yaml`);
  writeFileSync(file, text);
  const loaded = loadRunbook(file);
  const diags = allDiagnostics(loaded);
  if (diags.length) throw new Error(`${name}: ${diags.map((d) => d.message).join('; ')}`);
  return loaded;
}

/** One in-process run; returns the wall time of Runner.run() in ms and the result. */
async function run(loaded, stateDir) {
  const runner = new Runner({
    loaded,
    params: {},
    secrets: {},
    stateDir,
    decider: autoDecider({ yes: true, user: 'bench' }),
  });
  const t0 = performance.now();
  const result = await runner.run();
  const wall = performance.now() - t0;
  if (result.status !== 'succeeded') throw new Error(`run ${result.runId} ended ${result.status}`);
  return { wall, result };
}

const steps = (n, f) => Array.from({ length: n }, (_, i) => f(i)).join('');

// (a) 10,000 `assert: true` steps: per-step overhead, journal on this disk vs on tmpfs.
{
  const N = 10_000;
  const loaded = writeRunbook('asserts', `runbook: bench-asserts\nphases:\n  - id: main\n    steps:\n${steps(N, (i) => `      - id: s${i}\n        assert: "true"\n`)}`);
  // Warm up (JIT, template caches) on a small state dir, then measure.
  await run(loaded, join(work, 'warm'));
  const disk = (await run(loaded, join(work, 'state-disk'))).wall;
  report(`(a) ${N} assert steps, journal on disk (${work})`, (disk / N).toFixed(4), ' ms/step', '≤ 0.2 ms/step', disk / N <= 0.2);
  if (shmRoot) {
    const shm = (await run(loaded, join(shmRoot, 'state'))).wall;
    report(`(a) ${N} assert steps, journal on tmpfs (/dev/shm)`, (shm / N).toFixed(4), ' ms/step', '≤ 0.2 ms/step', shm / N <= 0.2);
    report('(a) disk vs tmpfs', (disk / shm).toFixed(2), '×', '≤ 2×', disk / shm <= 2);
  } else {
    console.log('(a) /dev/shm is missing: tmpfs comparison skipped');
  }
}

// (b) a shell step against a plain child_process.spawn of the same command (bash -eo pipefail -c true).
{
  const N = 100;
  const loaded = writeRunbook('shells', `runbook: bench-shells\nphases:\n  - id: main\n    steps:\n${steps(N, (i) => `      - id: s${i}\n        shell: { run: "true" }\n        irreversible: \"runs true: nothing to undo\"\n`)}`);
  await run(loaded, join(work, 'warm-shell'));
  const step = (await run(loaded, join(work, 'state-shell'))).wall / N;
  const spawnOnce = () =>
    new Promise((done, fail) => {
      const child = spawn('bash', ['--norc', '-eo', 'pipefail', '-c', 'true'], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      child.stdout.resume();
      child.stderr.resume();
      child.on('error', fail);
      child.on('close', done);
    });
  for (let i = 0; i < 10; i++) await spawnOnce();
  const t0 = performance.now();
  for (let i = 0; i < N; i++) await spawnOnce();
  const bare = (performance.now() - t0) / N;
  console.log(`       shell step ${step.toFixed(2)} ms, plain spawn ${bare.toFixed(2)} ms (each: bash -c true, mean of ${N})`);
  report('(b) shell step vs plain spawn', (step / bare).toFixed(2), '×', '≤ 2×', step / bare <= 2);
}

// (c) 10 independent `wait: 1s` steps.
{
  const loaded = writeRunbook('waits', `runbook: bench-waits\nphases:\n  - id: main\n    steps:\n${steps(10, (i) => `      - id: w${i}\n        needs: []\n        wait: 1s\n`)}`);
  const wall = (await run(loaded, join(work, 'state-waits'))).wall;
  report('(c) 10 independent wait: 1s steps', (wall / 1000).toFixed(3), ' s wall', '≤ 1.1 s', wall <= 1100);
}

// (d) a 100-step diamond graph of wait steps: a 10×10 lattice, step (r,c) needs (r-1,c) and (r,c-1),
// durations 20–110 ms; wall against the critical path.
{
  const size = 10;
  const dur = (r, c) => 20 + ((r * 7 + c * 13) % 10) * 10;
  const finish = [];
  let text = 'runbook: bench-diamond\nphases:\n  - id: main\n    steps:\n';
  for (let r = 0; r < size; r++) {
    finish[r] = [];
    for (let c = 0; c < size; c++) {
      const needs = [];
      if (r > 0) needs.push(`d${r - 1}-${c}`);
      if (c > 0) needs.push(`d${r}-${c - 1}`);
      finish[r][c] = Math.max(r > 0 ? finish[r - 1][c] : 0, c > 0 ? finish[r][c - 1] : 0) + dur(r, c);
      text += `      - id: d${r}-${c}\n        needs: [${needs.join(', ')}]\n        wait: ${dur(r, c)}ms\n`;
    }
  }
  const critical = finish[size - 1][size - 1];
  const loaded = writeRunbook('diamond', text);
  const wall = (await run(loaded, join(work, 'state-diamond'))).wall;
  const over = (wall / critical - 1) * 100;
  console.log(`       critical path ${critical} ms (19 steps), wall ${wall.toFixed(0)} ms`);
  report('(d) 100-step diamond: wall over the critical path', over.toFixed(1), ' %', '≤ 5 %', over <= 5);
}

rmSync(work, { recursive: true, force: true });
if (shmRoot) rmSync(shmRoot, { recursive: true, force: true });
process.exit(missed ? 1 : 0);
