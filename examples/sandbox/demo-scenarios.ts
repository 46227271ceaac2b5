/**
 * The demo's scenarios: how each DR guide procedure is set up in the sandbox (a real backup, a real
 * failure), which runbook drills it, and the one-line verdict printed at the end. The drills in
 * test/drills/ reuse the setups and assert the outcomes.
 */
import { freePort } from './services/free-port.js';
import { join } from 'node:path';
import { putDatedBackups, RETENTION_FIXTURE } from './demo-retention.js';
import { REPO_ROOT, runRunbook, type RunbookRun } from './demo-cli.js';
import { DR_BUCKET, type Sandbox, type SandboxOptions } from './sandbox.js';
import { seedFingerprint } from './trading-service.js';
import { losePrimaryUnderLoad } from './demo-primary-loss.js';

export type Params = Record<string, string | number | boolean>;

export interface DemoContext {
  sb: Sandbox;
  stateDir: string;
  /** Progress lines of the setup (the demo prints them; drills may ignore them). */
  say(line: string): void;
}

export interface Scenario {
  name: string;
  title: string;
  runbook: string;
  sandbox: SandboxOptions;
  /** The run status a successful drill ends with (default succeeded). */
  expectStatus?: string;
  /** Runs only on fake hosts (sshd, root): skipped where they cannot start. */
  needsHosts?: boolean;
  /** Make the failure happen for real; returns the params of the drilled run. */
  setup(ctx: DemoContext): Promise<Params>;
  /** One line: what the run achieved, checked against the sandbox itself. */
  verdict(ctx: DemoContext, run: RunbookRun): Promise<string>;
}

export const SEED_TRADES = 5000;

/** Run a runbook as part of a setup; throws with its output unless it succeeds. */
export async function prepare(ctx: DemoContext, runbook: string, params: Params): Promise<RunbookRun> {
  const run = await runRunbook(runbook, { stateDir: ctx.stateDir, env: ctx.sb.env, params, extra: ['--json', '--yes'] });
  if (run.code !== 0) {
    const tail = run.events.filter((e) => e.type === 'step.finished' && e.status !== 'succeeded' && e.status !== 'skipped');
    throw new Error(`setup: ${runbook} exited ${run.code}: ${JSON.stringify(tail.slice(-2))}\n${run.stderr}`);
  }
  return run;
}

/** A verified full backup in the sandbox's buckets, through runbooks/full-backup.yaml (`params` adds to or overrides its params: `format`, `jobs`); its key. */
export async function takeBackup(ctx: DemoContext, params: Params = {}): Promise<string> {
  const run = await prepare(ctx, 'full-backup', { bucket: ctx.sb.bucket, work_dir: join(ctx.sb.workDir, 'backups'), ...params });
  const key = stepOutputs(run, 'verify').key as string;
  ctx.say(`backup ${key} taken by runbooks/full-backup.yaml in ${ms(run.finished?.duration_ms)}`);
  return key;
}

/** Outputs of a step from the journal (the last finished attempt). */
export function stepOutputs(run: RunbookRun, step: string): Record<string, unknown> {
  const done = run.events.filter((e) => e.type === 'step.finished' && e.step === step);
  return ((done[done.length - 1]?.outputs as Record<string, unknown>) ?? {});
}

export async function countTrades(sb: Sandbox): Promise<{ trades: number; sumQty: number; sumPriceCents: number } | undefined> {
  try {
    const out = await sb.pg.psql('SELECT count(*), coalesce(sum(qty), 0), coalesce(sum(price * 100), 0)::bigint FROM trades');
    const [trades, sumQty, sumPriceCents] = out.split('|').map(Number);
    return { trades, sumQty, sumPriceCents };
  } catch {
    return undefined;
  }
}

/** Make the breaker trip: the dependency fails and quotes are requested until it is OPEN. */
export async function tripBreaker(sb: Sandbox): Promise<void> {
  sb.app.setDependencyFailing(true);
  for (let i = 0; i < 50 && sb.app.breaker.state !== 'OPEN'; i++) {
    await fetch(`${sb.app.url}/api/quote/AAPL`).then((r) => r.arrayBuffer());
  }
  if (sb.app.breaker.state !== 'OPEN') throw new Error(`breaker did not open (state ${sb.app.breaker.state})`);
}

const restoreParams = (sb: Sandbox): Params => ({ bucket: sb.bucket, work_dir: join(sb.workDir, 'restore') });

const rto = (run: RunbookRun, objective: string) =>
  `RTO ${ms(run.finished?.duration_ms)} vs objective ${objective} ${run.finished?.rto_met ? '✓ met' : '✗ missed'}`;

export function ms(n: unknown): string {
  if (typeof n !== 'number') return '?';
  return n < 1000 ? `${Math.round(n)} ms` : `${(n / 1000).toFixed(1)} s`;
}

const databaseCorruption: Scenario = {
  name: 'database-corruption',
  title: 'Scenario 1: the trades table is dropped; restore from the latest backup',
  runbook: 'database-corruption',
  sandbox: { trades: SEED_TRADES },
  async setup(ctx) {
    await takeBackup(ctx);
    await ctx.sb.pg.psql('DROP TABLE trades CASCADE');
    const health = await fetch(`${ctx.sb.app.url}/actuator/health`).then((r) => r.json() as Promise<{ status: string }>);
    ctx.say(`corruption: DROP TABLE trades — /actuator/health is ${health.status}`);
    return restoreParams(ctx.sb);
  },
  async verdict(ctx, run) {
    const got = await countTrades(ctx.sb);
    const want = seedFingerprint(ctx.sb.trades);
    const same = got !== undefined && got.trades === want.trades && got.sumQty === want.sumQty && got.sumPriceCents === want.sumPriceCents;
    return `${got?.trades ?? 0}/${want.trades} trades restored${same ? ' (checksums match)' : ' (MISMATCH)'} · ${rto(run, '5m')} · RPO ${ms(run.finished?.measures?.rpo)}`;
  },
};

const corruptBackup: Scenario = {
  name: 'corrupt-backup',
  title: 'Scenario 1 with both copies of the backup damaged: sha256 mismatch while assessing, the run stops before anything changes',
  runbook: 'database-corruption',
  sandbox: { trades: 500 },
  expectStatus: 'failed',
  async setup(ctx) {
    const key = await takeBackup(ctx);
    await corruptObject(ctx.sb, key);
    await corruptObject(ctx.sb, key, 'dr');
    await ctx.sb.pg.psql('DROP TABLE trades CASCADE');
    ctx.say(`damaged ${key} in both regions (one byte flipped), dropped trades`);
    return restoreParams(ctx.sb);
  },
  async verdict(ctx, run) {
    const m = (await fetch(`${ctx.sb.app.url}/admin/maintenance`).then((r) => r.json())) as { maintenance: boolean };
    return `run ${run.finished?.status} (exit ${run.code}) · maintenance mode ${m.maintenance ? 'ON' : 'never turned on'} · error: ${(run.finished as { error?: string } | undefined)?.error ?? '—'}`;
  },
};

/**
 * Flip a byte in the middle of the stored object (s3rver keeps it as a plain file), keeping its
 * metadata; in the primary region, or in the second one (`dr`).
 */
export async function corruptObject(sb: Sandbox, key: string, region: 'primary' | 'dr' = 'primary'): Promise<void> {
  const { open } = await import('node:fs/promises');
  const file = region === 'dr' ? join(sb.s3dr.dir, DR_BUCKET, `${key}._S3rver_object`) : join(sb.s3.dir, sb.bucket, `${key}._S3rver_object`);
  const fh = await open(file, 'r+');
  try {
    const { size } = await fh.stat();
    const buf = Buffer.alloc(1);
    await fh.read(buf, 0, 1, Math.floor(size / 2));
    buf[0] ^= 0xff;
    await fh.write(buf, 0, 1, Math.floor(size / 2));
  } finally {
    await fh.close();
  }
}

const externalOutage: Scenario = {
  name: 'external-service-outage',
  title: 'Scenario 3: the pricing service fails, the breaker opens, then recovers on its own',
  runbook: 'external-service-outage',
  sandbox: { trades: 100, breaker: { waitDurationInOpenState: 2000 } },
  async setup(ctx) {
    await tripBreaker(ctx.sb);
    ctx.say(`externalPricing failing, breaker ${ctx.sb.app.breaker.state}; the dependency comes back in 3 s`);
    setTimeout(() => ctx.sb.app.setDependencyFailing(false), 3000).unref();
    return {};
  },
  async verdict(ctx, run) {
    return `breaker ${stepOutputs(run, 'breakers').state} → ${ctx.sb.app.breaker.state} · ${rto(run, '2m')}`;
  },
};

const breakerReset: Scenario = {
  name: 'circuit-breaker-reset',
  title: 'Manual reset: the breaker is stuck OPEN after the pricing service recovered',
  runbook: 'circuit-breaker-reset',
  // A 10-minute wait: it would stay OPEN for the whole drill without the manual reset.
  sandbox: { trades: 100, breaker: { waitDurationInOpenState: 600_000 } },
  async setup(ctx) {
    await tripBreaker(ctx.sb);
    ctx.sb.app.setDependencyFailing(false);
    ctx.say(`breaker ${ctx.sb.app.breaker.state} (waits 10 min by itself); pricing service healthy again`);
    return {};
  },
  async verdict(ctx, run) {
    return `breaker ${stepOutputs(run, 'state').state} → ${ctx.sb.app.breaker.state} · ${rto(run, '2m')}`;
  },
};

const backupVerification: Scenario = {
  name: 'backup-verification',
  title: 'Monthly restore test: the latest backup into a scratch database, row counts compared',
  runbook: 'backup-verification',
  sandbox: { trades: SEED_TRADES },
  async setup(ctx) {
    await takeBackup(ctx);
    return { bucket: ctx.sb.bucket, work_dir: join(ctx.sb.workDir, 'verify') };
  },
  async verdict(_ctx, run) {
    const scratch = stepOutputs(run, 'counts').scratch as Record<string, number> | undefined;
    return `scratch restore: ${JSON.stringify(scratch ?? {})} · ${rto(run, '5m')}`;
  },
};

export interface PitrSetup {
  params: Params;
  target: string;
  firstBatch: number;
  secondBatch: number;
}

/** WAL archiving + base backup, then two batches of trades with the target time between them. */
export async function setupPitr(ctx: DemoContext, restoreDir: string, port: number): Promise<PitrSetup> {
  const sb = ctx.sb;
  const common = { bucket: sb.bucket, archive_dir: sb.walArchive ?? '', os_user: sb.osUser ?? '' };
  const setup = await prepare(ctx, 'pitr-setup', { ...common, base_dir: join(sb.workDir, 'base') });
  ctx.say(`WAL archiving on, base backup taken by runbooks/pitr-setup.yaml in ${ms(setup.finished?.duration_ms)}`);
  const firstBatch = 200;
  const secondBatch = 120;
  await sb.pg.psql(`INSERT INTO trades (symbol, qty, price) SELECT 'PITR', 1, 10 FROM generate_series(1, ${firstBatch})`);
  await sleep(300);
  const target = await sb.pg.psql(`SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS"+00"')`);
  await sleep(300);
  await sb.pg.psql(`INSERT INTO trades (symbol, qty, price) SELECT 'LOST', 1, 10 FROM generate_series(1, ${secondBatch})`);
  ctx.say(`${firstBatch} trades, then target time ${target}, then ${secondBatch} more trades`);
  return { params: { ...common, target_time: target, restore_dir: restoreDir, port }, target, firstBatch, secondBatch };
}

const pitr: Scenario = {
  name: 'pitr',
  title: 'Point-in-time recovery to a moment between two batches of trades',
  runbook: 'pitr-restore',
  sandbox: { trades: 1000, pitr: true },
  async setup(ctx) {
    const { params } = await setupPitr(ctx, join(ctx.sb.workDir, 'pitr'), await freePort());
    return { ...params, stop_after: true };
  },
  async verdict(_ctx, run) {
    const m = run.finished?.measures ?? {};
    return `recovered ${m.trades_recovered} trades (1000 seeded + 200 before the target; the 120 after it are not replayed) · RPO ${ms(m.rpo)} · ${rto(run, '5m')}`;
  },
};

const retention: Scenario = {
  name: 'retention',
  title: 'Retention: 7 daily, 4 weekly, 12 monthly, from a year of dated backups',
  runbook: 'backup-retention',
  sandbox: { trades: 10 },
  async setup(ctx) {
    const n = await putDatedBackups(ctx.sb);
    ctx.say(`${n} objects put: a backup every day from ${RETENTION_FIXTURE.first} to ${RETENTION_FIXTURE.last}, manifests, one undated key`);
    return { bucket: ctx.sb.bucket, dry_run: false };
  },
  async verdict(_ctx, run) {
    const m = run.finished?.measures ?? {};
    return `kept ${m.kept} backups, deleted ${m.expired} objects · ${rto(run, '10m')}`;
  },
};

const schemaRollback: Scenario = {
  name: 'schema-rollback',
  title: 'Schema rollback: undo Flyway migration V2 with U2__add_trade_note.sql',
  runbook: 'schema-rollback',
  sandbox: { trades: 100, flyway: true },
  async setup() {
    return { migrations_dir: join(REPO_ROOT, 'examples', 'sandbox', 'migrations', 'rollback') };
  },
  async verdict(ctx, run) {
    const col = await ctx.sb.pg.psql(`SELECT count(*) FROM information_schema.columns WHERE table_name = 'trades' AND column_name = 'note'`);
    const m = run.finished?.measures ?? {};
    return `schema ${m.version_before} → ${m.version_after}, trades.note ${col === '0' ? 'dropped' : 'STILL THERE'} · ${rto(run, '5m')}`;
  },
};

const completeFailure: Scenario = {
  name: 'complete-system-failure',
  title: 'Scenario 5: database gone, pricing down, the app hosts\' services stopped — the sub-runbooks and the hosts restore everything',
  runbook: 'complete-system-failure',
  // A database host and two app hosts over SSH when sshd can start here; otherwise without them.
  sandbox: { trades: SEED_TRADES, breaker: { waitDurationInOpenState: 2000 }, hosts: { app: 2, db: true } },
  async setup(ctx) {
    await takeBackup(ctx);
    await ctx.sb.pg.psql('DROP TABLE trades CASCADE');
    await tripBreaker(ctx.sb);
    setTimeout(() => ctx.sb.app.setDependencyFailing(false), 3000).unref();
    ctx.say('dropped trades, pricing failing (breaker OPEN, recovers in 3 s)');
    const hosts = ctx.sb.hosts;
    if (hosts) {
      for (const h of hosts.app) await h.stopService();
      ctx.say(`hosts over SSH: ${hosts.db?.inventoryName} (${hosts.db?.address}) with the database, ${hosts.app.map((h) => `${h.name} (${h.address})`).join(', ')} with their service stopped`);
    } else ctx.say(`no fake hosts (${ctx.sb.hostsUnavailable}): the host checks run with --set hosts=false`);
    return { ...restoreParams(ctx.sb), hosts: hosts !== undefined };
  },
  async verdict(ctx, run) {
    const got = await countTrades(ctx.sb);
    const hosts = ctx.sb.hosts ? await Promise.all(ctx.sb.hosts.app.map(async (h) => `${h.name} ${(await h.health())?.body.status ?? 'unreachable'}`)) : ['hosts not used'];
    return `${got?.trades ?? 0}/${SEED_TRADES} trades, breaker ${ctx.sb.app.breaker.state}, ${hosts.join(', ')} · ${rto(run, '10m')}`;
  },
};

const fullBackup: Scenario = {
  name: 'full-backup',
  title: 'The daily full backup: pg_dump -Fc, sha256, S3, verified',
  runbook: 'full-backup',
  sandbox: { trades: SEED_TRADES },
  async setup(ctx) {
    return { bucket: ctx.sb.bucket, work_dir: join(ctx.sb.workDir, 'backups') };
  },
  async verdict(_ctx, run) {
    return `${stepOutputs(run, 'verify').key} (${run.finished?.measures?.backup_bytes} bytes) · ${rto(run, '30m')}`;
  },
};

const primaryLoss: Scenario = {
  name: 'primary-loss',
  title: 'The primary is destroyed under a writer; a new server from the base backup and streamed WAL (true RPO)',
  runbook: 'primary-loss',
  sandbox: { trades: 1000, walStream: 'sync' },
  async setup(ctx) {
    const sb = ctx.sb;
    const common = { bucket: sb.bucket, archive_dir: sb.walArchive ?? '', os_user: sb.osUser ?? '' };
    await prepare(ctx, 'pitr-setup', { ...common, base_dir: join(sb.workDir, 'base') });
    ctx.say('base backup taken by runbooks/pitr-setup.yaml; WAL streams through pg_receivewal (synchronous) besides the archive');
    const log = join(sb.workDir, 'acks.log');
    const acked = await losePrimaryUnderLoad(sb, log);
    ctx.say(`a writer committed a row every 50 ms; after ${acked} acknowledged commits the primary was killed (kill -9) and its data directory removed`);
    return { ...common, stream_dir: sb.walStreamDir ?? '', restore_dir: join(sb.workDir, 'recovered'), port: await freePort(), ack_log: log, stop_after: true };
  },
  async verdict(_ctx, run) {
    const m = run.finished?.measures ?? {};
    return `RPO ${ms(m.rpo)} (${m.lost_commits} acknowledged commits lost) from ${m.wal_source} WAL · ${m.trades_recovered} trades · ${rto(run, '5m')}`;
  },
};

export const SCENARIOS: Scenario[] = [
  databaseCorruption,
  corruptBackup,
  externalOutage,
  breakerReset,
  backupVerification,
  pitr,
  retention,
  schemaRollback,
  completeFailure,
  fullBackup,
  primaryLoss,
];

export function findScenario(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}

export { freePort };

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
