#!/usr/bin/env node
// Memory and journal size of a step that prints a lot (spec §12 "Bounded everything"), through the
// real CLI (`runbook run --json`, stdout read and thrown away): `yes | head -c 2000000000`, and one
// 200 MB line without a newline. Peak RSS is the CLI's VmHWM (sampled from /proc until it exits).
// Floors measured in the same run: the CLI running `true` (RSS), and the same pipe into /dev/null (time).
// Targets: peak RSS < 200 MB and journal < 3 MiB for the 2 GB step.
//
//   npm run build && node bench/output-memory.mjs [bytes]     # default 2000000000
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const MiB = 1024 * 1024;
const bytes = Number(process.argv[2] ?? 2_000_000_000);
const dist = resolve(process.env.RUNBOOK_DIST ?? join(fileURLToPath(import.meta.url), '../../dist'));
const cli = join(dist, 'src/cli.js');
const dir = mkdtempSync(join(tmpdir(), 'runbook-output-bench-'));

const cases = [
  ['floor: a step running `true`', 'true', undefined],
  [`yes | head -c ${bytes}`, `yes | head -c ${bytes}`, `yes | head -c ${bytes} > /dev/null`],
  ['one 200 MB line, no newline', `head -c 200000000 /dev/zero | tr '\\0' x`, `head -c 200000000 /dev/zero | tr '\\0' x > /dev/null`],
];

/** Run the CLI on a one-step runbook; returns peak RSS (bytes), wall ms, journal bytes, events seen. */
function runCase(name, script) {
  const file = join(dir, `${name}.yaml`);
  // 141: `yes` ends by SIGPIPE when head is done (pipefail reports it).
  writeFileSync(file, `runbook: bench\nphases:\n  - id: p\n    steps:\n      - id: print\n        shell: { run: ${JSON.stringify(script)}, expect_exit: [0, 141] }\n`);
  const stateDir = join(dir, `${name}-state`);
  const started = performance.now();
  const child = spawn(process.execPath, [cli, 'run', file, '--json', '--state-dir', stateDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  let stdoutBytes = 0;
  child.stdout.on('data', (c) => (stdoutBytes += c.length));
  let peak = 0;
  const sample = () => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (m) peak = Math.max(peak, Number(m[1]) * 1024);
    } catch {
      // exited
    }
  };
  const timer = setInterval(sample, 20);
  return new Promise((done) =>
    child.on('exit', (code) => {
      clearInterval(timer);
      const runs = join(stateDir, 'runs');
      const journal = join(runs, readdirSync(runs)[0], 'journal.jsonl');
      const events = readFileSync(journal, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      done({ code, peak, ms: performance.now() - started, journal: statSync(journal).size, json: stdoutBytes, events });
    }),
  );
}

function floorMs(pipe) {
  const started = performance.now();
  spawnSync('bash', ['--norc', '-c', pipe]);
  return performance.now() - started;
}

let failed = false;
try {
  let floorRss = 0;
  for (const [i, [name, script, pipe]] of cases.entries()) {
    const r = await runCase(`case${i}`, script);
    if (i === 0) floorRss = r.peak;
    const truncated = r.events.filter((e) => e.type === 'step.output_truncated').map((e) => `${e.stream} ${e.bytes}`);
    const floor = pipe ? ` (the pipe into /dev/null: ${(floorMs(pipe) / 1000).toFixed(1)} s)` : '';
    console.log(`${name}`);
    console.log(`  exit ${r.code} · ${(r.ms / 1000).toFixed(1)} s${floor}`);
    console.log(`  peak RSS ${(r.peak / MiB).toFixed(0)} MiB (floor ${(floorRss / MiB).toFixed(0)} MiB, ${(r.peak / floorRss).toFixed(2)}x) · journal ${(r.journal / MiB).toFixed(2)} MiB · --json ${(r.json / MiB).toFixed(2)} MiB`);
    if (truncated.length) console.log(`  step.output_truncated: ${truncated.join(', ')}`);
    if (i > 0 && (r.peak >= 200 * 1e6 || r.journal >= 3 * MiB || r.code !== 0)) failed = true;
  }
  console.log(failed ? 'OVER TARGET: peak RSS must stay < 200 MB and the journal < 3 MiB' : 'OK: peak RSS < 200 MB and journal < 3 MiB for every case');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
