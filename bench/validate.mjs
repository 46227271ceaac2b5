// Wall time of `runbook validate` and `runbook plan` on a generated 1,000-step runbook (median of 5
// runs each, plus a 1-step runbook for the start-up floor). Target: validate < 0.5 s. Also prints the
// child's CPU time (user + sys), which a loaded machine inflates less than the wall time.
// Usage: npx tsc -p . && node bench/validate.mjs [--steps 1000] [--runs 5] [--keep]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, loadavg, cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values: opts } = parseArgs({
  options: { steps: { type: 'string', default: '1000' }, runs: { type: 'string', default: '5' }, keep: { type: 'boolean', default: false } },
});
const STEPS = Number(opts.steps);
const RUNS = Number(opts.runs);
const TARGET_S = 0.5;
const PER_PHASE = 100;
const cli = resolve('dist/src/cli.js');
if (!existsSync(cli)) {
  console.error(`${cli} not found: build first (npx tsc -p .)`);
  process.exit(2);
}

/** One step of a rotating mix; `prev` is an earlier step id (same phase) to depend on and refer to. */
function step(i, prev, earlierPhaseStep) {
  const id = `s${i}`;
  const needs = prev ? `\n        needs: [${prev}${earlierPhaseStep ? `, ${earlierPhaseStep}` : ''}]` : '';
  const guard = prev ? `\n        when: "\${{ steps.${prev}.status == 'succeeded' }}"` : '';
  switch (i % 6) {
    case 0:
      return `      - id: ${id}${needs}${guard}
        timeout: 30s
        retry: { attempts: 2, delay: 1s }
        shell: { run: "echo \${{ params.target }} step ${i} && test -n \${{ run.id }}" }
        outputs: { code: "\${{ result.exit_code }}" }
        rollback: { shell: { run: "echo undo ${i} for \${{ self.status }}" } }`;
    case 1:
      return `      - id: ${id}${needs}
        sql: { connection: db, query: "SELECT $1::text AS target, $2::int AS n", params: ["\${{ params.target }}", ${i}] }
        expect: "result.row_count == 1"
        outputs: { target: "\${{ result.rows[0].target }}" }
        rollback: { sql: { connection: db, script: "SELECT 1; SELECT 2", transaction: true } }`;
    case 2:
      return `      - id: ${id}${needs}
        http: { connection: app, method: POST, url: "/api/items/${i}", json: { target: "\${{ params.target }}", n: ${i} }, expect_status: [200, 201] }
        outputs: { status: "\${{ result.status }}" }`;
    case 3:
      return `      - id: ${id}${needs}
        s3: { connection: store, action: latest, prefix: "pg/\${{ params.target }}/${i}/" }
        outputs: { key: "\${{ result.key }}" }
        rollback: { s3: { connection: store, action: delete, key: "tmp/${i}" } }`;
    case 4:
      return `      - id: ${id}${needs}
        docker: { connection: engine, action: stop, service: "web-${i}", grace: 10s }
        rollback: { docker: { connection: engine, action: start, service: "web-${i}" } }`;
    default:
      return `      - id: ${id}${needs}
        assert: "\${{ length(params.target) > 0 && steps.${prev ?? 's0'}.status != 'failed' }}"`;
  }
}

function runbook(steps) {
  const phases = [];
  for (let p = 0; p * PER_PHASE < steps; p++) {
    const lines = [];
    for (let i = p * PER_PHASE; i < Math.min(steps, (p + 1) * PER_PHASE); i++) {
      const prev = i > p * PER_PHASE ? `s${i - 1}` : undefined;
      // Now and then also wait for a step of the phase before.
      const earlier = p > 0 && i % 10 === 3 ? `s${i - PER_PHASE}` : undefined;
      lines.push(step(i, prev, earlier));
    }
    phases.push(`  - id: phase-${p}\n    budget: 10m\n    steps:\n${lines.join('\n')}`);
  }
  return `runbook: bench-validate
title: Generated runbook of ${steps} steps
severity: P1
objectives: { rto: 2h, rpo: 5m }
params:
  target: { type: string, enum: [staging, production], default: staging }
secrets:
  db_password: { env: PGPASSWORD }
connections:
  db: { postgres: { url: "postgres://app@127.0.0.1:5432/app", password: "\${{ secrets.db_password }}" } }
  store: { s3: { bucket: backups, endpoint: "http://127.0.0.1:9000", region: us-east-1 } }
  engine: { docker: { socket: /var/run/docker.sock, project: bench } }
  app: { http: { base_url: "http://127.0.0.1:8080" } }
defaults:
  timeout: 2m
phases:
${phases.join('\n')}
`;
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
