// The scenario-1 drill (runbooks/database-corruption.yaml) at scale, against its floor measured in the
// same run on the same sandbox: the same encrypted dump fetched from S3 (the AWS SDK, streamed to a
// file), decrypted with age, and restored with a bare `pg_restore --clean --if-exists
// --single-transaction` — the work the drill cannot avoid. Then the drill with one job (in place, one
// transaction) and with `jobs: 2` (a fresh database, verified, swapped in), in interleaved rounds
// (DRILL_ROUNDS, default 3) each starting from a checkpointed database; prints the medians' ratios
// and each phase's share of the median drill.
//
//   node bench/drill.mjs [rows]        (default 1,000,000; needs a build: npm run build)
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';

const dist = new URL('../dist/', import.meta.url).pathname;
const execFileAsync = promisify(execFile);
// The pinned AWS SDK warns that its later releases need Node 22 (as the CLI, we silence that one).
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = (w, ...rest) => (String(w).startsWith('NodeVersionSupportWarning') ? undefined : emitWarning(w, ...rest));
const { startSandbox } = await import(join(dist, 'examples/sandbox/sandbox.js'));
const { takeBackup, countTrades } = await import(join(dist, 'examples/sandbox/demo-scenarios.js'));
const { runRunbook } = await import(join(dist, 'examples/sandbox/demo-cli.js'));
const { seedFingerprint } = await import(join(dist, 'examples/sandbox/trading-service.js'));
const { s3ClientConfig } = await import(join(dist, 'examples/sandbox/services/s3.js'));
const { S3Client, GetObjectCommand } = await import('@aws-sdk/client-s3');

const rows = Number(process.argv[2] ?? 1_000_000);
const ROUNDS = Number(process.env.DRILL_ROUNDS ?? 3);
const fmt = (ms) => (ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`);

const t0 = performance.now();
const sb = await startSandbox({ trades: rows });
console.log(`sandbox: ${rows.toLocaleString('en')} trades seeded in ${fmt(performance.now() - t0)} (fsync on)`);
let failed = false;
try {
  const ctx = { sb, stateDir: join(sb.dir, 'state'), say: () => {} };
  const tb = performance.now();
  const key = await takeBackup(ctx);
  console.log(`backup: ${key} by runbooks/full-backup.yaml in ${fmt(performance.now() - tb)}`);
  const want = seedFingerprint(rows);
  const same = (got) => got && got.trades === want.trades && got.sumQty === want.sumQty && got.sumPriceCents === want.sumPriceCents;
  // The corruption every measurement recovers from: the table gone, and the previous restore's
  // dirty pages written out first, so that no measurement pays for the one before it.
  const fresh = async () => {
    await sb.pg.psql('DROP TABLE trades CASCADE');
    // A parallel drill keeps the database it replaced (app_before_…): dropped, so that the cluster
    // stays the size it was.
    const kept = (await sb.pg.psql("SELECT string_agg(quote_ident(datname), ' ') FROM pg_database WHERE datname LIKE 'app\\_before\\_%'")).trim();
    for (const db of kept ? kept.split(' ') : []) await sb.pg.psql(`DROP DATABASE ${db}`, 'postgres');
    await sb.pg.psql('CHECKPOINT');
  };
  // No autovacuum: each restore writes a million rows, and a worker that vacuums them during a later
  // measurement (floor or drill alike) moved single measurements by ±30%.
  await sb.pg.psql('ALTER SYSTEM SET autovacuum = off');
  await sb.pg.psql('SELECT pg_reload_conf()');

  // The floor: fetch, decrypt, restore — nothing else.
  const dir = join(sb.workDir, 'floor');
  await mkdir(dir, { recursive: true });
  const env = { ...process.env, ...sb.env };
  const s3 = new S3Client(s3ClientConfig(sb.s3));
  const floorOnce = async () => {
    await fresh();
    // Each floor starts from an empty folder, as each drill does (its clean-up removes its files).
    await rm(join(dir, 'f.dump'), { force: true });
    await rm(join(dir, 'f.dump.age'), { force: true });
    const f0 = performance.now();
    const obj = await s3.send(new GetObjectCommand({ Bucket: sb.bucket, Key: key }));
    await pipeline(obj.Body, createWriteStream(join(dir, 'f.dump.age')));
    const fetched = performance.now();
    // --norc, as the shell step runs bash: Node's stdin pipe is a socket, and Debian's bash then sources
    // ~/.bashrc when it finds itself a top-level shell (SHLVL unset or 0, as in a bench started in the
    // background here; pyenv's init there took ~100 ms): the floor's decrypt measured 115-145 ms
    // instead of ~20 ms, in every round of such a run.
    execFileSync('bash', ['--norc', '-c', `age --decrypt --identity <(printf '%s\\n' "$BACKUP_AGE_IDENTITY") --output ${dir}/f.dump ${dir}/f.dump.age`], { env });
    const decrypted = performance.now();
    execFileSync('pg_restore', ['--clean', '--if-exists', '--no-owner', '--no-privileges', '--exit-on-error', '--single-transaction', '--no-password', `--dbname=${sb.env.DATABASE_URL}`, join(dir, 'f.dump')], { env });
    const restored = performance.now();
    if (!same(await countTrades(sb))) throw new Error('floor restore: rows do not match the seed');
    return { total: restored - f0, fetch: fetched - f0, decrypt: decrypted - fetched, restore: restored - decrypted };
  };

  // For scale, not part of the floor: the same GET from a fresh Node process (node start, the SDK's
  // load and first request), as any fresh command pays it (the drill's CLI included).
  // (Asynchronously: the S3 server runs in this process.)
  const coldFetch = async () => {
    const c0 = performance.now();
    await execFileAsync(process.execPath, ['--input-type=module', '-e', `
      import { S3Client, GetObjectCommand } from '@aws-sdk/client-s3';
      import { createWriteStream } from 'node:fs';
      import { pipeline } from 'node:stream/promises';
      const s3 = new S3Client(${JSON.stringify(s3ClientConfig(sb.s3))});
      const obj = await s3.send(new GetObjectCommand({ Bucket: ${JSON.stringify(sb.bucket)}, Key: ${JSON.stringify(key)} }));
      await pipeline(obj.Body, createWriteStream(${JSON.stringify(join(dir, 'cold.dump.age'))}));
      s3.destroy();`], { cwd: new URL('..', import.meta.url).pathname });
    const c1 = performance.now();
    await execFileAsync(process.execPath, ['-e', '0']);
    return { total: c1 - c0, node: performance.now() - c1 };
  };

  const drill = async (jobs, runbook = 'database-corruption') => {
    await fresh();
    const w0 = performance.now();
    const run = await runRunbook(runbook, {
      stateDir: ctx.stateDir,
      env: sb.env,
      params: { bucket: sb.bucket, work_dir: join(sb.workDir, `restore-${jobs}`), jobs },
      extra: ['--json', '--yes'],
    });
    const wall = performance.now() - w0;
    if (run.code !== 0 || !same(await countTrades(sb))) throw new Error(`drill (jobs ${jobs}) exited ${run.code}: ${run.stderr}`);
    const ms = run.finished.duration_ms;
    return { ms, wall, run };
  };
  /** What a drill's run looked like: its phases' shares and, for the first phase (where the fixed costs are), each step's start and duration. */
  const describe = ({ ms, run }) => {
    const phases = run.events.filter((e) => e.type === 'phase.finished').map((e) => `${e.phase} ${fmt(e.duration_ms)} (${Math.round((100 * e.duration_ms) / ms)}%)`);
    const first = run.events.find((e) => e.type === 'phase.finished')?.phase;
    const started = new Map(run.events.filter((e) => e.type === 'step.started').map((e) => [e.step, Date.parse(e.ts)]));
    const t0 = Date.parse(run.events[0].ts);
    const steps = run.events.filter((e) => e.type === 'step.finished' && e.phase === first).map((e) => `${e.step} +${(started.get(e.step) ?? Date.parse(e.ts)) - t0}ms ${e.status} ${fmt(e.duration_ms ?? 0)}`);
    return [`  phases: ${phases.join(' · ')}`, `  ${first}: ${steps.join(' · ')}`];
  };

  // Rounds of floor, drill and parallel drill, interleaved so that each sees the same machine; the
  // medians are compared. Every measurement starts from a checkpointed database with the table gone.
  // DRILL_ALSO=<runbook file>: one more drill (one job) per round with another version of the runbook,
  // for an A/B in the same rounds (e.g. the previous commit's: git show HEAD~1:runbooks/… > /tmp/old.yaml).
  const also = process.env.DRILL_ALSO;
  const floors = [], ones = [], twos = [], alsos = [], colds = [];
  // The arms' order turns round by round: each one follows each other one as often, so that what
  // a measurement leaves behind (a swapped-in database, written-out pages) favours none.
  const arms = [() => floorOnce().then((x) => floors.push(x)), () => drill(1).then((x) => ones.push(x)), () => drill(2).then((x) => twos.push(x))];
  if (also) arms.push(() => drill(1, also).then((x) => alsos.push(x)));
  const phase = (d, id) => d.run.events.find((e) => e.type === 'phase.finished' && e.phase === id)?.duration_ms ?? NaN;
  const step = (d, id) => d.run.events.find((e) => e.type === 'step.finished' && e.step === id)?.duration_ms ?? NaN;
  for (let r = 0; r < ROUNDS; r++) {
    for (let k = 0; k < arms.length; k++) await arms[(r + k) % arms.length]();
    colds.push(await coldFetch());
    if (also) console.log(`round ${r + 1}: ${also}: ${fmt(alsos[r].ms)} (restore phase ${fmt(phase(alsos[r], 'restore'))}, pg-restore ${fmt(step(alsos[r], 'pg-restore'))})`);
    console.log(`round ${r + 1}: floor ${fmt(floors[r].total)} (fetch ${fmt(floors[r].fetch)}, decrypt ${fmt(floors[r].decrypt)}, pg_restore ${fmt(floors[r].restore)}) · drill ${fmt(ones[r].ms)} (detect ${fmt(phase(ones[r], 'detect'))}, restore phase ${fmt(phase(ones[r], 'restore'))}, pg-restore ${fmt(step(ones[r], 'pg-restore'))}, verify ${fmt(phase(ones[r], 'verify'))}, recover ${fmt(phase(ones[r], 'recover'))}) · jobs 2 ${fmt(twos[r].ms)} (restore phase ${fmt(phase(twos[r], 'restore'))})`);
  }
  s3.destroy();
  const median = (xs, f) => [...xs].sort((a, b) => f(a) - f(b))[Math.floor(xs.length / 2)];
  const floorM = median(floors, (x) => x.total);
  const floor = floorM.total;
  console.log(`floor: ${fmt(floor)} (fetch ${fmt(floorM.fetch)}, decrypt ${fmt(floorM.decrypt)}, pg_restore ${fmt(floorM.restore)}); median of ${ROUNDS}: ${floors.map((x) => fmt(x.total)).join(', ')}`);
  const coldM = median(colds, (x) => x.total);
  console.log(`for scale: the floor's GET from a fresh process takes ${fmt(coldM.total)} (\`node -e 0\` ${fmt(coldM.node)}), against ${fmt(floorM.fetch)} with the bench's warm client`);
  const [one, two] = [ones, twos].map((runs, k) => {
    const m = median(runs, (x) => x.ms);
    console.log(`drill, jobs ${k + 1}: run ${fmt(m.ms)}, CLI wall ${fmt(m.wall)} → ${(m.ms / floor).toFixed(2)}× the floor (wall ${(m.wall / floor).toFixed(2)}×); median of ${runs.map((x) => fmt(x.ms)).join(', ')}`);
    // Each round's drill against the same round's floor: the machine's drift between rounds cancels.
    const ratios = runs.map((x, r) => x.ms / floors[r].total).sort((a, b) => a - b);
    console.log(`  per round: ${ratios[Math.floor(ratios.length / 2)].toFixed(2)}× median (${ratios[0].toFixed(2)}–${ratios[ratios.length - 1].toFixed(2)}×)`);
    for (const line of describe(m)) console.log(line);
    return m.ms;
  });
  if (also) {
    const m = median(alsos, (x) => x.ms);
    console.log(`drill by ${also}: run ${fmt(m.ms)} → ${(m.ms / floor).toFixed(2)}× the floor; median of ${alsos.map((x) => fmt(x.ms)).join(', ')}`);
    for (const line of describe(m)) console.log(line);
  }
  console.log(`\nsummary: drill ${(one / floor).toFixed(2)}× the floor (target ≤ 1.2×) ${one / floor <= 1.2 ? 'met' : 'NOT met'}; parallel restore + swap ${(two / floor).toFixed(2)}× (goal ≤ 0.8×) ${two / floor <= 0.8 ? 'met' : 'not met'}`);
  if (one / floor > 1.2) failed = true;
} finally {
  await sb.stop();
}
process.exit(failed ? 1 : 0);
