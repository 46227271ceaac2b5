// The shared state store against the file store, in the same run (spec §10 targets):
//   (a) interpreter overhead per control step with the PostgreSQL store ≤ 3× the file store;
//   (b) a side-effect step's commit (append + flush) ≤ 2× an fsync of the file journal;
//   (c) takeover: from the holder's kill -9 to B's first new step ≤ lease + 2 s.
// PostgreSQL runs durable here (fsync on, on this disk) so commit and fsync compare like for like.
// Usage: npx tsc -p . && node bench/state.mjs [dist folder]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const dist = resolve(process.argv[2] ?? 'dist');
const imp = (p) => import(pathToFileURL(join(dist, p)).href);
const { loadRunbook, allDiagnostics } = await imp('src/dsl/validate.js');
const { Runner } = await imp('src/interpreter/run.js');
const { autoDecider } = await imp('src/interpreter/decisions.js');
const { FileStore } = await imp('src/state/file/index.js');
const { PostgresStore } = await imp('src/state/postgres/index.js');
const { JournalWriter } = await imp('src/interpreter/journal.js');
const { startPostgres } = await imp('examples/sandbox/services/postgres.js');

const work = mkdtempSync(join(tmpdir(), 'runbook-bench-state-'));
const server = await startPostgres({ fsync: true });
let missed = 0;
let dbs = 0;
function report(name, value, unit, target, ok) {
  if (!ok) missed++;
  console.log(`${ok ? 'ok    ' : 'MISSED'} ${name}: ${value}${unit}  (target ${target})`);
}
async function freshUrl() {
  const name = `bench_${++dbs}`;
  await server.psql(`CREATE DATABASE ${name}`);
  return server.url.replace(/\/[^/]*$/, `/${name}`);
}
function writeRunbook(name, text) {
  const file = join(work, `${name}.yaml`);
  writeFileSync(file, text);
  const loaded = loadRunbook(file);
  const diags = allDiagnostics(loaded);
  if (diags.length) throw new Error(`${name}: ${diags.map((d) => d.message).join('; ')}`);
  return loaded;
}
async function run(loaded, store) {
  const runner = new Runner({ loaded, params: {}, secrets: {}, store, decider: autoDecider({ yes: true, user: 'bench' }) });
  const t0 = performance.now();
  const result = await runner.run();
  if (result.status !== 'succeeded') throw new Error(`run ${result.runId} ended ${result.status}`);
  return performance.now() - t0;
}
const steps = (n, f) => Array.from({ length: n }, (_, i) => f(i)).join('');

try {
  // (a) control steps
  {
    const N = 5000;
    const loaded = writeRunbook('asserts', `runbook: bench-asserts\nphases:\n  - id: main\n    steps:\n${steps(N, (i) => `      - id: s${i}\n        assert: "true"\n`)}`);
    const file = new FileStore(join(work, 'file-state'));
    const pg = new PostgresStore(await freshUrl());
    await run(loaded, file);
    await run(loaded, pg);
    const f = await run(loaded, file);
    const p = await run(loaded, pg);
    console.log(`       file ${(f / N).toFixed(4)} ms/step, postgres ${(p / N).toFixed(4)} ms/step (${N} assert steps)`);
    report('(a) control step overhead, postgres vs file', (p / f).toFixed(2), '×', '≤ 3×', p / f <= 3);
    pg.close();
  }
  // (b) a side-effect step's commit vs an fsync of the file journal
  {
    const N = 200;
    const event = (i) => ({ ts: new Date().toISOString(), run: 'bench', type: 'step.started', step: `s${i}`, phase: 'main', attempt: 1 });
    const jw = JournalWriter.open(join(work, 'fsync', 'journal.jsonl'));
    const pg = new PostgresStore(await freshUrl());
    const pj = pg.openJournal('bench', { epoch: 0, runbook: 'bench' });
    for (let i = 0; i < 20; i++) {
      jw.append(event(i));
      jw.flush();
      pj.append(event(i));
      pj.flush();
    }
    let t0 = performance.now();
    for (let i = 0; i < N; i++) {
      jw.append(event(i));
      jw.flush();
    }
    const fsync = (performance.now() - t0) / N;
    t0 = performance.now();
    for (let i = 0; i < N; i++) {
      pj.append(event(i));
      pj.flush();
    }
    const commit = (performance.now() - t0) / N;
    jw.close();
    pj.close();
    pg.close();
    console.log(`       fsync ${fsync.toFixed(3)} ms, commit ${commit.toFixed(3)} ms (append + flush, mean of ${N})`);
    report('(b) commit vs fsync', (commit / fsync).toFixed(2), '×', '≤ 2×', commit / fsync <= 2);
  }
  // (c) takeover after kill -9
  {
    const leaseMs = 3000;
    const url = await freshUrl();
    const file = join(work, 'takeover.yaml');
    writeFileSync(file, `runbook: bench-takeover\nphases:\n  - id: main\n    steps:\n      - id: long\n        idempotent: true\n        shell: { run: '[ "$B" = 1 ] || sleep 30.9' }\n`);
    const cli = join(dist, 'src/cli.js');
    const firstEvent = (child, pred) =>
      new Promise((res, rej) => {
        let buf = '';
        child.stdout.on('data', (d) => {
          buf += d;
          for (const line of buf.split('\n').slice(0, -1)) {
            try {
              const e = JSON.parse(line);
              if (pred(e)) res(e);
            } catch {}
          }
          buf = buf.slice(buf.lastIndexOf('\n') + 1);
        });
        child.on('exit', () => rej(new Error('exited first')));
      });
    const a = spawn(process.execPath, [cli, 'run', file, '--json', '--state', url, '--lease', `${leaseMs}ms`], { env: { ...process.env, HOSTNAME: 'bench-a' }, stdio: ['ignore', 'pipe', 'inherit'] });
    const started = await firstEvent(a, (e) => e.type === 'step.started');
    await new Promise((r) => setTimeout(r, 500));
    a.kill('SIGKILL');
    const died = performance.now();
    const b = spawn(process.execPath, [cli, 'resume', started.run, '--json', '--state', url, '--lease', `${leaseMs}ms`], { env: { ...process.env, HOSTNAME: 'bench-b', B: '1' }, stdio: ['ignore', 'pipe', 'ignore'] });
    await firstEvent(b, (e) => e.type === 'step.started');
    const took = performance.now() - died;
    await new Promise((r) => b.on('exit', r));
    report(`(c) takeover after kill -9 (lease ${leaseMs / 1000} s)`, (took / 1000).toFixed(2), ' s', `≤ ${(leaseMs + 2000) / 1000} s`, took <= leaseMs + 2000);
  }
} finally {
  await server.stop();
  rmSync(work, { recursive: true, force: true });
}
process.exit(missed ? 1 : 0);
