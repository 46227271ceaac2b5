/**
 * The DR sandbox: a PostgreSQL 15 cluster (fsync on), an S3 server with the backup bucket, the
 * trading service and a notification receiver standing in for PagerDuty and Slack, all on 127.0.0.1
 * in one temp dir; optionally fake hosts over SSH on 127.0.0.2 and up (`hosts`); plus the
 * environment the runbooks read (DATABASE_URL, S3_ENDPOINT, APP_URL, AWS credentials, PAGERDUTY_URL,
 * PAGERDUTY_ROUTING_KEY, SLACK_WEBHOOK_URL, PATH with the PostgreSQL binaries, RUNBOOK_INVENTORY).
 * Used by `npm run demo` and the drills in test/drills/. `stop()` leaves no process or dir behind.
 */
import { execFile } from 'node:child_process';
import { chown, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPostgres, type PgServer } from './services/postgres.js';
import { startS3, type S3Server } from './services/s3.js';
import { startNotifyReceiver, type NotifyReceiver } from './services/notify-receiver.js';
import { fakeHostsUnavailableReason, startFakeHosts, type FakeHosts, type FakeHostsOptions } from './fake-hosts.js';
import { SANDBOX_SCHEMA_SQL, seedSql, startTradingService, type BreakerConfig, type TradingService } from './trading-service.js';

export interface SandboxOptions {
  /** Trades seeded into the database (default 1000); 0 leaves the tables empty. */
  trades?: number;
  /** Bucket created on the S3 server (default trademaster-backups). */
  bucket?: string;
  /** Enable WAL archiving into `<dir>/wal-archive` (needs a server start, so it is set here). */
  pitr?: boolean;
  /** Breaker settings of the trading service (e.g. a short `waitDurationInOpenState` for drills). */
  breaker?: Partial<BreakerConfig>;
  /** Default true: the drills measure real restores. */
  fsync?: boolean;
  /** Create a flyway_schema_history with versions 1 and 2 (2 added trades.note), for schema-rollback. */
  flyway?: boolean;
  /**
   * Stream WAL continuously into `<dir>/wal-stream` with `pg_receivewal` (a replication slot, every
   * record flushed as it arrives), besides the archive (implies `pitr`). `sync`: the primary waits for
   * the stream before it acknowledges a commit (`synchronous_standby_names`), so an acknowledged
   * commit is never lost with the primary; `async`: it does not wait.
   */
  walStream?: 'sync' | 'async';
  /**
   * Fake hosts (spec §9): sshd on 127.0.0.2 and up, a database host and app hosts running the
   * trading service (fake-hosts.ts), when openssh-server is installed and we are root; otherwise
   * `hostsUnavailable` says why and the sandbox runs without them.
   */
  hosts?: Omit<FakeHostsOptions, 'database'>;
}

/** The second region's bucket and region name, as the runbooks' `dr_bucket` / `dr_region` defaults. */
export const DR_BUCKET = 'trademaster-backups-dr';
export const DR_REGION = 'eu-central-1';

export interface Sandbox {
  /** The temp dir holding everything (scratch space for runbooks under `work/`). */
  dir: string;
  /** Scratch dir the runbooks may use (`work_dir` param). */
  workDir: string;
  /** Trades seeded at start (seedFingerprint(trades) is what a full restore gives back). */
  trades: number;
  /** WAL archive dir when `pitr` is on. */
  walArchive?: string;
  /** Where pg_receivewal streams WAL (`walStream`). */
  walStreamDir?: string;
  bucket: string;
  pg: PgServer;
  /** Region A (the primary backup region). */
  s3: S3Server;
  /** Region B: the cross-region copies (bucket DR_BUCKET), a second S3 server of its own. */
  s3dr: S3Server;
  /** The age key pair backups are encrypted with: the recipient (public) and the identity (secret). */
  age: { recipient: string; identity: string };
  app: TradingService;
  /** Where the runbooks page and post: it records every request (see services/notify-receiver.ts). */
  notify: NotifyReceiver;
  /** The fake hosts, when asked for and possible here. */
  hosts?: FakeHosts;
  /** Why the fake hosts asked for could not start here. */
  hostsUnavailable?: string;
  /**
   * Variables for the runbook CLI: DATABASE_URL (no password), PGPASSWORD, S3_ENDPOINT, S3_DR_ENDPOINT,
   * BACKUP_AGE_RECIPIENT, BACKUP_AGE_IDENTITY, APP_URL, AWS_*, PAGERDUTY_URL, PAGERDUTY_ROUTING_KEY,
   * SLACK_WEBHOOK_URL, WEBHOOK_URL, PATH; with fake hosts RUNBOOK_INVENTORY, SSH_KEY_FILE, SSH_KNOWN_HOSTS.
   */
  env: Record<string, string>;
  /** The database URL with its password (for the sandbox's own clients). */
  databaseUrl: string;
  /** OS user the PostgreSQL server runs as when we are root (runbooks that start a server need it). */
  osUser?: string;
  stop(): Promise<void>;
}

/** Start PostgreSQL, S3 and the trading service; seed the database. Stops what started on failure. */
export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const bucket = opts.bucket ?? 'trademaster-backups';
  const dir = await mkdtemp(join(tmpdir(), 'runbook-sandbox-'));
  const workDir = join(dir, 'work');
  const stops: (() => Promise<void>)[] = [
    () => rm(dir, { recursive: true, force: true }),
    // Servers a runbook started in the scratch space (pitr-restore) and did not stop.
    async () => stopStrayServers(workDir),
  ];
  const stop = async () => {
    // Reverse order of start; every stop runs even if one fails.
    for (const s of stops.splice(0).reverse()) await s().catch((err) => console.warn(`sandbox stop: ${(err as Error).message}`));
  };
  try {
    await mkdir(workDir);
    const settings: Record<string, string> = {};
    let walArchive: string | undefined;
    if (opts.pitr || opts.walStream) {
      walArchive = join(dir, 'wal-archive');
      await mkdir(walArchive);
      settings.wal_level = 'replica';
      settings.archive_mode = 'on';
      // `test ! -f` keeps an archived segment from being overwritten, as the PostgreSQL docs advise.
      settings.archive_command = `test ! -f ${walArchive}/%f && cp %p ${walArchive}/%f`;
      settings.archive_timeout = '60';
    }
    const pg = await startPostgres({ fsync: opts.fsync ?? true, settings });
    stops.push(() => pg.stop());
    if (pg.runAs) {
      // The server (as the postgres user) writes the archive; runbooks (as us) write work/.
      if (walArchive) await chown(walArchive, pg.runAs.uid, pg.runAs.gid);
      await chown(dir, pg.runAs.uid, pg.runAs.gid);
    }
    let walStreamDir: string | undefined;
    if (opts.walStream) {
      walStreamDir = join(dir, 'wal-stream');
      const receiver = await startWalReceiver(pg, walStreamDir, opts.walStream);
      stops.push(() => receiver.stop());
    }
    const trades = opts.trades ?? 1000;
    await pg.psql(SANDBOX_SCHEMA_SQL + seedSql(trades));
    if (opts.flyway) await pg.psql(FLYWAY_SQL);
    const s3 = await startS3({ buckets: [bucket] });
    stops.push(() => s3.stop());
    const s3dr = await startS3({ buckets: [DR_BUCKET] });
    stops.push(() => s3dr.stop());
    const age = await ageKeyPair();
    const app = await startTradingService({ databaseUrl: pg.url, breaker: opts.breaker });
    stops.push(() => app.close());
    const notify = await startNotifyReceiver();
    stops.push(() => notify.stop());
    let hosts: FakeHosts | undefined;
    const hostsUnavailable = opts.hosts ? fakeHostsUnavailableReason() : undefined;
    if (opts.hosts && !hostsUnavailable) {
      hosts = await startFakeHosts({ ...opts.hosts, database: { address: '127.0.0.1', port: pg.port } });
      stops.push(() => hosts!.stop());
    }
    const env: Record<string, string> = {
      DATABASE_URL: `postgres://${encodeURIComponent(pg.user)}@127.0.0.1:${pg.port}/${encodeURIComponent(pg.database)}`,
      PGPASSWORD: pg.password,
      S3_ENDPOINT: s3.endpoint,
      S3_DR_ENDPOINT: s3dr.endpoint,
      BACKUP_AGE_RECIPIENT: age.recipient,
      BACKUP_AGE_IDENTITY: age.identity,
      APP_URL: app.url,
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
      AWS_REGION: s3.region,
      ...notify.env,
      ...hosts?.env,
      PATH: `${pg.binDir}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    };
    return {
      dir,
      workDir,
      trades,
      walArchive,
      walStreamDir,
      bucket,
      pg,
      s3,
      s3dr,
      age,
      app,
      notify,
      hosts,
      hostsUnavailable,
      env,
      databaseUrl: pg.url,
      osUser: pg.runAs ? 'postgres' : undefined,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * `pg_receivewal` into `dir` through a physical replication slot (so the primary keeps WAL it has not
 * sent), `--synchronous` (flushed and acknowledged record by record), as the server's OS user so the
 * recovered server can read what it wrote. With `sync` the primary then waits for it on every commit.
 */
async function startWalReceiver(pg: PgServer, dir: string, mode: 'sync' | 'async'): Promise<{ stop(): Promise<void> }> {
  await mkdir(dir);
  if (pg.runAs) await chown(dir, pg.runAs.uid, pg.runAs.gid);
  await pg.psql(`SELECT pg_create_physical_replication_slot('runbook_stream')`);
  const { spawn } = await import('node:child_process');
  const child = spawn(
    join(pg.binDir, 'pg_receivewal'),
    ['-D', dir, '--slot=runbook_stream', '--synchronous', '--no-password', '-d', `postgres://${encodeURIComponent(pg.user)}@127.0.0.1:${pg.port}/${encodeURIComponent(pg.database)}?application_name=pg_receivewal`],
    { env: { ...process.env, PGPASSWORD: pg.password }, stdio: ['ignore', 'ignore', 'pipe'], ...(pg.runAs ? { uid: pg.runAs.uid, gid: pg.runAs.gid } : {}) },
  );
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGINT');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await gone;
    clearTimeout(timer);
  };
  try {
    // Streaming (and, for sync, counted as the synchronous standby) before the seed commits.
    for (let i = 0; ; i++) {
      const state = await pg.psql(`SELECT state FROM pg_stat_replication WHERE application_name = 'pg_receivewal'`);
      if (state === 'streaming') break;
      if (child.exitCode !== null || i > 200) throw new Error(`pg_receivewal did not start streaming: ${stderr.trim()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    if (mode === 'sync') {
      await pg.psql(`ALTER SYSTEM SET synchronous_standby_names = 'pg_receivewal'`);
      await pg.psql(`SELECT pg_reload_conf()`);
      for (let i = 0; (await pg.psql(`SELECT sync_state FROM pg_stat_replication WHERE application_name = 'pg_receivewal'`)) !== 'sync'; i++) {
        if (i > 200) throw new Error('pg_receivewal did not become the synchronous standby');
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { stop };
}

/**
 * A fresh age X25519 key pair (`age-keygen`, Debian's `age`): the backups are encrypted to the
 * recipient; only a restore holds the identity.
 */
async function ageKeyPair(): Promise<{ recipient: string; identity: string }> {
  let out: string;
  try {
    out = (await promisify(execFile)('age-keygen', [], { encoding: 'utf8' })).stdout;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new Error(e.code === 'ENOENT' ? 'age-keygen not found: install age (apt-get install age) — backups are encrypted with it' : `age-keygen: ${e.message}`);
  }
  const identity = /^AGE-SECRET-KEY-1[0-9A-Z]+$/m.exec(out)?.[0];
  const recipient = /^# public key: (age1[0-9a-z]+)$/m.exec(out)?.[1];
  if (!identity || !recipient) throw new Error('age-keygen printed no key pair');
  return { recipient, identity };
}

/** Flyway's history table as Flyway 9 creates it, with two applied versions; V2 added trades.note. */
const FLYWAY_SQL = `CREATE TABLE flyway_schema_history (
  installed_rank integer PRIMARY KEY,
  version varchar(50),
  description varchar(200) NOT NULL,
  type varchar(20) NOT NULL,
  script varchar(1000) NOT NULL,
  checksum integer,
  installed_by varchar(100) NOT NULL,
  installed_on timestamp NOT NULL DEFAULT now(),
  execution_time integer NOT NULL,
  success boolean NOT NULL
);
INSERT INTO flyway_schema_history VALUES
  (1, '1', 'create trades', 'SQL', 'V1__create_trades.sql', 1, 'postgres', now(), 5, true),
  (2, '2', 'add trade note', 'SQL', 'V2__add_trade_note.sql', 2, 'postgres', now(), 3, true);
ALTER TABLE trades ADD COLUMN note text;
`;

/** SIGQUIT (immediate shutdown) every postmaster whose data dir lies up to 3 levels under `root`. */
async function stopStrayServers(root: string): Promise<void> {
  const pids: number[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const path = join(dir, e.name);
      if (e.isFile() && e.name === 'postmaster.pid') {
        const pid = Number((await readFile(path, 'utf8').catch(() => '')).split('\n')[0]);
        if (Number.isInteger(pid) && pid > 0) pids.push(pid);
      } else if (e.isDirectory() && depth < 3) await walk(path, depth + 1);
    }
  };
  await walk(root, 0);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGQUIT');
    } catch {
      continue;
    }
    for (let i = 0; i < 100 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 50));
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
