// Wall time of `runbook validate` and `runbook plan` on a generated 1,000-step runbook (median of 5
// runs each, plus a 1-step runbook for the start-up floor). Target: validate < 0.5 s. Also prints the
// child's CPU time (user + sys), which a loaded machine inflates less than the wall time.
// Usage: npx tsc -p . && node bench/validate.mjs [--steps 1000] [--runs 5] [--keep]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, loadavg, cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { runbook } from './generated-runbook.mjs';

const { values: opts } = parseArgs({
  options: { steps: { type: 'string', default: '1000' }, runs: { type: 'string', default: '5' }, keep: { type: 'boolean', default: false } },
});
const STEPS = Number(opts.steps);
const RUNS = Number(opts.runs);
const TARGET_S = 0.5;
const cli = resolve('bin/runbook.cjs');
if (!existsSync(resolve('dist/runbook.bundle.cjs'))) {
  console.error('dist/runbook.bundle.cjs not found: build first (npm run build)');
  process.exit(2);
}

// The child's own CPU time (user + sys) at exit: on a loaded machine it moves less than the wall time.
const CPU_PRELOAD = `data:text/javascript,${encodeURIComponent(
  "import{writeFileSync}from'node:fs';process.on('exit',()=>{const u=process.cpuUsage();writeFileSync(process.env.BENCH_CPU_FILE,String((u.user+u.system)/1e6))})",
)}`;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function time(args) {
  const walls = [];
  const cpus = [];
  const cpuFile = join(dir, 'cpu.txt');
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    const r = spawnSync(process.execPath, ['--import', CPU_PRELOAD, cli, ...args], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, BENCH_CPU_FILE: cpuFile },
    });
    walls.push((performance.now() - started) / 1000);
    cpus.push(Number(readFileSync(cpuFile, 'utf8')));
    if (r.status !== 0) {
      console.error(`runbook ${args.join(' ')} exited ${r.status}:\n${r.stdout.slice(0, 2000)}${r.stderr.slice(0, 2000)}`);
      process.exit(1);
    }
  }
  return { median: median(walls), min: Math.min(...walls), max: Math.max(...walls), cpu: median(cpus) };
}

const dir = mkdtempSync(join(tmpdir(), 'runbook-bench-validate-'));
try {
  const big = join(dir, `bench-${STEPS}.yaml`);
  const tiny = join(dir, 'bench-1.yaml');
  writeFileSync(big, runbook(STEPS));
  writeFileSync(tiny, runbook(1));
  const state = join(dir, 'state');
  const fmt = (t) => `${t.median.toFixed(3)} s (min ${t.min.toFixed(3)}, max ${t.max.toFixed(3)}; CPU ${t.cpu.toFixed(3)} s)`;
  const load = loadavg().map((l) => l.toFixed(2)).join(' ');
  const after = () => `load average after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`;
  console.log(`node ${process.version}, ${cpus().length} CPUs, load average ${load}; median of ${RUNS} runs, wall time`);
  const floor = time(['validate', tiny]);
  console.log(`validate   1 step : ${fmt(floor)}`);
  const v = time(['validate', big]);
  console.log(`validate ${STEPS} steps: ${fmt(v)}  — target < ${TARGET_S} s: ${v.median < TARGET_S ? 'met' : 'NOT met'}`);
  const p = time(['plan', big, '--state-dir', state]);
  console.log(`plan     ${STEPS} steps: ${fmt(p)}`);
  console.log(after());
  if (opts.keep) console.log(`runbook kept in ${big}`);
} finally {
  if (!opts.keep) rmSync(dir, { recursive: true, force: true });
}
