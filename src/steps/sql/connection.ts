/**
 * The `postgres` connection kind: a `pg.Pool` built from `connections.<name>.postgres`, named
 * `runbook:<runId>` in pg_stat_activity. Every pool remembers a safe description of its target so
 * errors name host, port and database (and the ssh host of `via`) and never the password. `pg` is
 * loaded on the first open, so `validate` and `plan` never load it.
 *
 * `via: <ssh connection>` (spec §9) tunnels every client of the pool through that connection's one
 * host: `host`/`port` are then as seen from that host, and each pg client is a channel on the
 * host's pooled ssh connection (no ssh connection of its own).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import type pg from 'pg';
import type { JsonSchema } from '../../dsl/json-schema.js';
import { DURATION_PATTERN, parseDuration } from '../../dsl/duration.js';
import type { ConnectionKind, ConnectionOpenContext, PreflightCheck } from '../types.js';
import type { SshHosts } from '../ssh/index.js';
import type { TunnelSocket } from '../../transport/ssh/tunnel.js';
import { describeConnectError } from './errors.js';

let driver: typeof pg | undefined;
// `open` stays synchronous (as the ConnectionKind contract allows and callers use), so `pg` — a CommonJS
// package, the same instance that `import pg from 'pg'` gives the step modules — is required on first use.
const loadPg = (): typeof pg => (driver ??= createRequire(import.meta.url)('pg') as typeof pg);

export interface PostgresConnectionConfig {
  url?: string;
  host?: string;
  port?: number | string;
  user?: string;
  database?: string;
  password?: string;
  ssl?: boolean | { reject_unauthorized?: boolean; ca_file?: string };
  connect_timeout?: string;
  max?: number;
  via?: string;
}

/** Where a pool points, for messages; `secret` is masked out of any error text as a last resort. */
export interface PoolTarget {
  target: string;
  secret?: string;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_POOL_SIZE = 5;
const text = (description: string) => ({ type: 'string', description });

export const postgresConnectionSchema: JsonSchema = {
  type: 'object',
  description: 'A PostgreSQL server: a `url`, or `host`/`port`/`user`/`database` (fields given next to a `url` override its parts).',
  additionalProperties: false,
  properties: {
    url: {
      type: 'string',
      pattern: '^postgres(ql)?://',
      errorMessage: 'Expected a postgres:// or postgresql:// URL, e.g. postgres://app@db.internal:5432/app.',
      description: 'postgres://user@host:port/database (keep the password out of it: use `password` with a secret). Supports ?sslmode=disable|require|verify-ca|verify-full.',
    },
    host: text('Server host name or IP, or the directory of its unix socket (default localhost).'),
    port: {
      type: ['integer', 'string'],
      pattern: '^[0-9]+$',
      minimum: 1,
      maximum: 65535,
      description: 'Server port (default 5432); a string of digits is accepted so `${{ env.PGPORT }}` works.',
    },
    user: text('Role to log in as.'),
    database: text('Database to connect to (default: the user name).'),
    password: text('Password of the role; usually `${{ secrets.<name> }}`. Never printed.'),
    ssl: {
      description: 'TLS: true (verify the server certificate), false (plain), or options.',
      oneOf: [
        { type: 'boolean', description: 'true = TLS with certificate verification, false = no TLS.' },
        {
          type: 'object',
          description: 'TLS with options.',
          additionalProperties: false,
          properties: {
            reject_unauthorized: { type: 'boolean', description: 'Refuse a certificate that does not verify (default true).' },
            ca_file: text("PEM file of the CA to trust, relative to the runbook's folder."),
          },
        },
      ],
    },
    connect_timeout: { type: 'string', pattern: DURATION_PATTERN, description: 'Give up connecting after this long (default 10s).' },
    max: { type: 'integer', minimum: 1, maximum: 100, description: `Most connections open at once for this run (default ${DEFAULT_POOL_SIZE}).` },
    via: {
      type: 'string',
      minLength: 1,
      description:
        'Name of an ssh connection (one host) to tunnel through: `host`/`port` are then as that host sees them (e.g. 127.0.0.1:5432, or a unix socket folder). Every client rides on the host’s one pooled ssh connection.',
    },
  },
};

const targets = new WeakMap<pg.Pool, PoolTarget>();

/** The safe target description recorded when the pool was opened. */
export function poolTarget(pool: pg.Pool): PoolTarget {
  return targets.get(pool) ?? { target: 'postgres' };
}

/** Build the pg settings from a resolved config; explicit fields win over the parts of `url`. */
export function toPoolConfig(config: PostgresConnectionConfig, ctx: { runId: string; baseDir: string }): pg.PoolConfig {
  const fromUrl = config.url ? parsePostgresUrl(config.url) : {};
  const timeout = config.connect_timeout === undefined ? DEFAULT_CONNECT_TIMEOUT_MS : parseDuration(config.connect_timeout);
  if (timeout === undefined) throw new Error(`postgres connection: connect_timeout '${config.connect_timeout}' is not a duration (e.g. 10s)`);
  const port = given(config.port) === undefined ? fromUrl.port : Number(config.port);
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) {
    throw new Error(`postgres connection: port '${config.port}' is not a port number`);
  }
  return {
    host: given(config.host) ?? fromUrl.host ?? 'localhost',
    port: port ?? 5432,
    user: given(config.user) ?? fromUrl.user,
    database: given(config.database) ?? fromUrl.database,
    password: given(config.password) ?? fromUrl.password,
    ssl: config.ssl === undefined ? fromUrl.ssl : toSsl(config.ssl, ctx.baseDir),
    connectionTimeoutMillis: timeout,
    max: config.max ?? DEFAULT_POOL_SIZE,
    application_name: `runbook:${ctx.runId}`,
    idleTimeoutMillis: 10_000,
    // An idle pool must not keep the interpreter alive after the run.
    allowExitOnIdle: true,
    keepAlive: true,
  };
}

/** `host:port/database` (`… via <ssh connection>`), never the password. */
export function describePostgres(config: PostgresConnectionConfig): string {
  const via = given(config.via) === undefined ? '' : ` via ${config.via}`;
  try {
    const c = toPoolConfig(config, { runId: '', baseDir: '.' });
    return `${c.host}:${c.port}/${c.database ?? c.user ?? ''}${via}`;
  } catch {
    return `postgres (invalid connection settings)${via}`;
  }
}

type UrlParts = { host?: string; port?: number; user?: string; password?: string; database?: string; ssl?: pg.PoolConfig['ssl'] };

function parsePostgresUrl(url: string): UrlParts {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    // Do not echo the URL: it may hold a password.
    throw new Error('postgres connection: url is not a valid postgres:// URL');
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') {
    throw new Error(`postgres connection: url must start with postgres:// (got ${u.protocol}//)`);
  }
  const parts: UrlParts = {
    host: given(decodeURIComponent(u.hostname).replace(/^\[(.*)\]$/, '$1')),
    port: u.port ? Number(u.port) : undefined,
    user: given(decodeURIComponent(u.username)),
    password: given(decodeURIComponent(u.password)),
    database: given(decodeURIComponent(u.pathname.replace(/^\//, ''))),
  };
  for (const [key, value] of u.searchParams) {
    if (key === 'sslmode') parts.ssl = sslFromMode(value);
    else if (key === 'host') parts.host = value;
    else throw new Error(`postgres connection: unsupported url parameter '${key}' (use the connection's fields)`);
  }
  return parts;
}

function sslFromMode(mode: string): pg.PoolConfig['ssl'] {
  if (mode === 'disable' || mode === 'allow' || mode === 'prefer') return false;
  if (mode === 'require') return { rejectUnauthorized: false };
  if (mode === 'verify-ca' || mode === 'verify-full') return {};
  throw new Error(`postgres connection: unknown sslmode '${mode}'`);
}

function toSsl(ssl: NonNullable<PostgresConnectionConfig['ssl']>, baseDir: string): pg.PoolConfig['ssl'] {
  if (typeof ssl === 'boolean') return ssl ? {} : false;
  const ca = ssl.ca_file ? readFileSync(resolve(baseDir, ssl.ca_file), 'utf8') : undefined;
  return { rejectUnauthorized: ssl.reject_unauthorized ?? true, ...(ca ? { ca } : {}) };
}

// `${{ env.X }}` of an unset variable resolves to ''; treat it as "not given".
function given<T>(v: T | '' | undefined | null): T | undefined {
  return v === '' || v === null ? undefined : v;
}

async function preflightPostgres(pool: pg.Pool, config: PostgresConnectionConfig): Promise<PreflightCheck> {
  const target = describePostgres(config);
  try {
    const r = await pool.query('SELECT current_user AS user, current_database() AS db, version() AS version');
    const row = r.rows[0] as { user: string; db: string; version: string };
    const version = /^PostgreSQL \S+/.exec(row.version)?.[0] ?? row.version;
    return { target, ok: true, detail: `connected as ${row.user} to ${row.db} (${version})` };
  } catch (err) {
    return { target, ok: false, detail: describeConnectError(err, poolTarget(pool)) };
  }
}

function openPool(config: PostgresConnectionConfig, ctx: ConnectionOpenContext, stream?: () => TunnelSocket): pg.Pool {
  const options: pg.PoolConfig = { ...toPoolConfig(config, ctx), ...(stream ? { stream } : {}) };
  const pool = new (loadPg().Pool)(options);
  // A server restarted mid-run (the point of many runbooks) makes idle clients emit 'error';
  // unhandled, that would crash the interpreter. The pool drops those clients by itself.
  pool.on('error', () => {});
  targets.set(pool, { target: describePostgres(config), secret: typeof options.password === 'string' ? options.password : undefined });
  return pool;
}

/** `via`: every client of the pool is a channel through the ssh connection's one host. */
async function openTunnelled(config: PostgresConnectionConfig, ctx: ConnectionOpenContext): Promise<pg.Pool> {
  const where = `postgres connection${ctx.name ? ` '${ctx.name}'` : ''}`;
  if (!ctx.connection) throw new Error(`${where}: via '${config.via}' needs the run's connections (not available here)`);
  const ssh = await ctx.connection<SshHosts>(config.via!, 'ssh');
  if (ssh.hosts.length !== 1) {
    throw new Error(`${where}: via '${config.via}' stands for ${ssh.hosts.length} hosts; a tunnel goes through exactly one`);
  }
  const conn = ssh.host(ssh.hosts[0]);
  // Loaded with the first tunnel: validate and plan never open one (docs/startup.md).
  const { TunnelSocket } = await import('../../transport/ssh/tunnel.js');
  return openPool(config, ctx, () => new TunnelSocket(conn));
}

export const postgresConnection: ConnectionKind<PostgresConnectionConfig, pg.Pool> = {
  name: 'postgres',
  // A password `p@ss` interpolated into the url is encoded as userinfo (spec §12).
  urlFields: ['url'],
  description: 'A PostgreSQL server, reached through a pool of `pg` connections shared by the run (tunnelled through an ssh connection with `via`).',
  schema: postgresConnectionSchema,
  // Synchronous without `via` (callers may use the pool at once); a tunnel first opens its ssh connection.
  open: (config, ctx) => (given(config.via) === undefined ? openPool(config, ctx) : openTunnelled(config, ctx)),
  async close(pool) {
    await pool.end();
  },
  preflight: preflightPostgres,
  describe: describePostgres,
};
