// The scenario-1 drill (runbooks/database-corruption.yaml) at scale, against its floor measured in the
// same run on the same sandbox: the same encrypted dump fetched from S3 (the AWS SDK, streamed to a
// file), decrypted with age, and restored with a bare `pg_restore --clean --if-exists
// --single-transaction` — the work the drill cannot avoid. Then the drill with one job (in place, one
// transaction) and with `jobs: 2` (a fresh database, verified, swapped in). Prints the ratios and
// each phase's share of the drill.
//
//   node bench/drill.mjs [rows]        (default 1,000,000; needs a build: npm run build)
import { execFileSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';

const dist = new URL('../dist/', import.meta.url).pathname;
// The pinned AWS SDK warns that its later releases need Node 22 (as the CLI, we silence that one).
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = (w, ...rest) => (String(w).startsWith('NodeVersionSupportWarning') ? undefined : emitWarning(w, ...rest));
const { startSandbox } = await import(join(dist, 'examples/sandbox/sandbox.js'));
const { takeBackup, countTrades } = await import(join(dist, 'examples/sandbox/demo-scenarios.js'));
const { runRunbook } = await import(join(dist, 'examples/sandbox/demo-cli.js'));
const { seedFingerprint } = await import(join(dist, 'examples/sandbox/trading-service.js'));
const { S3Client, GetObjectCommand } = await import('@aws-sdk/client-s3');

const rows = Number(process.argv[2] ?? 1_000_000);
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

  // The floor: fetch, decrypt, restore — nothing else.
  await sb.pg.psql('DROP TABLE trades CASCADE');
  const dir = join(sb.workDir, 'floor');
  await mkdir(dir, { recursive: true });
  const env = { ...process.env, ...sb.env };
  const f0 = performance.now();
  const s3 = new S3Client({ endpoint: sb.s3.endpoint, region: sb.s3.region, forcePathStyle: true, credentials: { accessKeyId: sb.s3.accessKeyId, secretAccessKey: sb.s3.secretAccessKey }, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
  const obj = await s3.send(new GetObjectCommand({ Bucket: sb.bucket, Key: key }));
  await pipeline(obj.Body, createWriteStream(join(dir, 'f.dump.age')));
  const fetched = performance.now();
  execFileSync('bash', ['-c', `age --decrypt --identity <(printf '%s\\n' "$BACKUP_AGE_IDENTITY") --output ${dir}/f.dump ${dir}/f.dump.age`], { env });
  const decrypted = performance.now();
  execFileSync('pg_restore', ['--clean', '--if-exists', '--no-owner', '--no-privileges', '--exit-on-error', '--single-transaction', '--no-password', `--dbname=${sb.env.DATABASE_URL}`, join(dir, 'f.dump')], { env });
  const restored = performance.now();
  const floor = restored - f0;
  s3.destroy();
  if (!same(await countTrades(sb))) throw new Error('floor restore: rows do not match the seed');
  console.log(`floor: ${fmt(floor)} (fetch ${fmt(fetched - f0)}, decrypt ${fmt(decrypted - fetched)}, pg_restore ${fmt(restored - decrypted)})`);

  const drill = async (jobs) => {
    await sb.pg.psql('DROP TABLE trades CASCADE');
    const w0 = performance.now();
    const run = await runRunbook('database-corruption', {
      stateDir: ctx.stateDir,
      env: sb.env,
      params: { bucket: sb.bucket, work_dir: join(sb.workDir, `restore-${jobs}`), jobs },
      extra: ['--json', '--yes'],
    });
    const wall = performance.now() - w0;
    if (run.code !== 0 || !same(await countTrades(sb))) throw new Error(`drill (jobs ${jobs}) exited ${run.code}: ${run.stderr}`);
    const ms = run.finished.duration_ms;
    const phases = run.events.filter((e) => e.type === 'phase.finished').map((e) => `${e.phase} ${fmt(e.duration_ms)} (${Math.round((100 * e.duration_ms) / ms)}%)`);
    console.log(`drill, jobs ${jobs}: run ${fmt(ms)}, CLI wall ${fmt(wall)} → ${(ms / floor).toFixed(2)}× the floor (wall ${(wall / floor).toFixed(2)}×)`);
    console.log(`  phases: ${phases.join(' · ')}`);
    // The first phase is where the fixed costs are: each of its steps, when it started (from the run's
    // start) and how long it took.
    const first = run.events.find((e) => e.type === 'phase.finished')?.phase;
    const started = new Map(run.events.filter((e) => e.type === 'step.started').map((e) => [e.step, Date.parse(e.ts)]));
    const t0 = Date.parse(run.events[0].ts);
    const steps = run.events.filter((e) => e.type === 'step.finished' && e.phase === first).map((e) => `${e.step} +${(started.get(e.step) ?? Date.parse(e.ts)) - t0}ms ${e.status} ${fmt(e.duration_ms ?? 0)}`);
    console.log(`  ${first}: ${steps.join(' · ')}`);
    return ms;
  };
  const one = await drill(1);
  const two = await drill(2);
  console.log(`\nsummary: drill ${(one / floor).toFixed(2)}× the floor (target ≤ 1.2×) ${one / floor <= 1.2 ? 'met' : 'NOT met'}; parallel restore + swap ${(two / floor).toFixed(2)}× (goal ≤ 0.8×) ${two / floor <= 0.8 ? 'met' : 'not met'}`);
  if (one / floor > 1.2) failed = true;
} finally {
  await sb.stop();
}
process.exit(failed ? 1 : 0);
