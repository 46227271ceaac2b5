/**
 * The DR sandbox: a PostgreSQL 15 cluster (fsync on), an S3 server with the backup bucket, the
 * trading service and a notification receiver standing in for PagerDuty and Slack, all on 127.0.0.1
 * in one temp dir, plus the environment the runbooks read (DATABASE_URL, S3_ENDPOINT, APP_URL, AWS
 * credentials, PAGERDUTY_URL, PAGERDUTY_ROUTING_KEY, SLACK_WEBHOOK_URL, PATH with the PostgreSQL binaries).
 * Used by `npm run demo` and the drills in test/drills/. `stop()` leaves no process or dir behind.
 */
import { chown, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPostgres, type PgServer } from './services/postgres.js';
import { startS3, type S3Server } from './services/s3.js';
import { startNotifyReceiver, type NotifyReceiver } from './services/notify-receiver.js';
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
}

export interface Sandbox {
  /** The temp dir holding everything (scratch space for runbooks under `work/`). */
  dir: string;
  /** Scratch dir the runbooks may use (`work_dir` param). */
  workDir: string;
  /** WAL archive dir when `pitr` is on. */
  walArchive?: string;
  bucket: string;
  pg: PgServer;
  s3: S3Server;
  app: TradingService;
  /** Where the runbooks page and post: it records every request (see services/notify-receiver.ts). */
  notify: NotifyReceiver;
  /** Variables for the runbook CLI: DATABASE_URL (no password), PGPASSWORD, S3_ENDPOINT, APP_URL, AWS_*, PATH. */
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
    if (opts.pitr) {
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
    await pg.psql(SANDBOX_SCHEMA_SQL + seedSql(opts.trades ?? 1000));
    if (opts.flyway) await pg.psql(FLYWAY_SQL);
    const s3 = await startS3({ buckets: [bucket] });
    stops.push(() => s3.stop());
    const app = await startTradingService({ databaseUrl: pg.url, breaker: opts.breaker });
    stops.push(() => app.close());
    const notify = await startNotifyReceiver();
    stops.push(() => notify.stop());
    const env: Record<string, string> = {
      DATABASE_URL: `postgres://${encodeURIComponent(pg.user)}@127.0.0.1:${pg.port}/${encodeURIComponent(pg.database)}`,
      PGPASSWORD: pg.password,
      S3_ENDPOINT: s3.endpoint,
      APP_URL: app.url,
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
      AWS_REGION: s3.region,
      ...notify.env,
      PATH: `${pg.binDir}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    };
    return {
      dir,
      workDir,
      walArchive,
      bucket,
      pg,
      s3,
      app,
      notify,
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
