// Start-up of the `runbook` command (bin/runbook.cjs: the bundle through its V8 code cache,
// docs/startup.md) as ratios to `node -e 0` measured in the same run, interleaved so that both see
// the same machine. Targets (issue 15): `--version` ≤ 1.5×, `validate` of 1 step ≤ 2×, of 1,000 steps
// ≤ 4×. Also printed, for comparison: the same commands without the code cache, and the unbundled
// ES modules (dist/src/cli.js) that the tests load module by module.
// Usage: npm run build && node bench/startup.mjs [--runs 21]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { runbook } from './generated-runbook.mjs';

const { values: opts } = parseArgs({ options: { runs: { type: 'string', default: '21' } } });
const RUNS = Number(opts.runs);
const bin = resolve('bin/runbook.cjs');
const esm = resolve('dist/src/cli.js');
if (!existsSync(resolve('dist/runbook.bundle.cjs'))) {
  console.error('dist/runbook.bundle.cjs not found: build first (npm run build)');
  process.exit(2);
}

const dir = mkdtempSync(join(tmpdir(), 'runbook-bench-startup-'));
const tiny = join(dir, 'one.yaml');
const big = join(dir, 'thousand.yaml');
writeFileSync(tiny, runbook(1));
writeFileSync(big, runbook(1000));

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
function once(args, env = {}) {
  const started = performance.now();
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, ...env } });
  const s = (performance.now() - started) / 1000;
  // validate exits 0 (valid, maybe with warnings); anything else is a broken build, not a figure.
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}: ${r.stderr.slice(0, 500)}`);
  return s;
}

const cases = [
  { name: 'node -e 0', args: ['-e', '0'] },
  { name: 'runbook --version', args: [bin, '--version'], target: 1.5 },
  { name: 'validate, 1 step', args: [bin, 'validate', tiny], target: 2 },
  { name: 'validate, 1,000 steps', args: [bin, 'validate', big], target: 4 },
  { name: '  without code cache: validate, 1 step', args: [bin, 'validate', tiny], env: { RUNBOOK_CODE_CACHE: '0' } },
  { name: '  without code cache: validate, 1,000 steps', args: [bin, 'validate', big], env: { RUNBOOK_CODE_CACHE: '0' } },
  { name: '  ES modules (dist/src/cli.js): --version', args: [esm, '--version'] },
  { name: '  ES modules (dist/src/cli.js): validate, 1 step', args: [esm, 'validate', tiny] },
  { name: '  ES modules (dist/src/cli.js): validate, 1,000 steps', args: [esm, 'validate', big] },
];

try {
  console.log(`node ${process.version}, ${cpus().length} CPUs, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}; median of ${RUNS} interleaved runs, wall time`);
  // Warm-up: the first run of each command writes its code cache, and the file cache fills.
  for (const c of cases) for (let i = 0; i < 2; i++) once(c.args, c.env);
  const times = cases.map(() => []);
  for (let i = 0; i < RUNS; i++) cases.forEach((c, k) => times[k].push(once(c.args, c.env)));
  const floor = median(times[0]);
  cases.forEach((c, k) => {
    const m = median(times[k]);
    const ratio = m / floor;
    const verdict = c.target ? `  target ≤ ${c.target}×: ${ratio <= c.target ? 'met' : 'NOT met'}` : '';
    console.log(`${c.name.padEnd(54)} ${(m * 1000).toFixed(0).padStart(5)} ms  ${k === 0 ? 'floor' : `${ratio.toFixed(2)}×`}${verdict}`);
  });
  console.log(`load average after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
