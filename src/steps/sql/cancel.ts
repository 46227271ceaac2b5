/**
 * Cancellation for pg, which has no AbortSignal: on abort, `pg_cancel_backend(pid)` from a second
 * connection stops the statement on the server (it then fails with 57014 in ~0.2 s); if the server
 * does not confirm within a grace period, `pg_terminate_backend(pid)` ends the whole session.
 * A client that saw an abort is always discarded, never returned to the pool: a late cancel would
 * otherwise hit whatever the next step runs on it.
 */
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { CANCEL_GRACE_MS } from './constants.js';

export { CANCEL_GRACE_MS };
/** After terminating, how long to wait for the client to notice before giving up on it. */
const TERMINATE_GRACE_MS = 2_000;

/** Thrown when the signal fired; `how` says what was done on the server. */
export class QueryCancelled extends Error {
  constructor(readonly how: string) {
    super(`cancelled: ${how}`);
    this.name = 'QueryCancelled';
  }
}

/** Check a client out of the pool, giving up (and discarding a late one) when the signal fires. */
export function checkout(pool: pg.Pool, signal: AbortSignal): Promise<pg.PoolClient> {
  if (signal.aborted) return Promise.reject(new QueryCancelled('before connecting'));
  const pending = pool.connect();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      reject(new QueryCancelled('while connecting'));
      pending.then((c) => c.release(true), () => {});
    };
    signal.addEventListener('abort', onAbort, { once: true });
    pending.then(
      (client) => {
        signal.removeEventListener('abort', onAbort);
        if (!signal.aborted) resolve(client);
      },
      (err) => {
        signal.removeEventListener('abort', onAbort);
        if (!signal.aborted) reject(err);
      },
    );
  });
}

/** The server process of a checked-out client: its pid, and the key a protocol CancelRequest needs. */
export interface Backend {
  pid: number;
  secretKey?: number;
}

/** From the startup handshake (BackendKeyData), else asked for. */
export async function backendOf(client: pg.PoolClient): Promise<Backend> {
  const keys = client as unknown as { processID?: number | null; secretKey?: number | null };
  if (typeof keys.processID === 'number' && keys.processID > 0) {
    return { pid: keys.processID, secretKey: typeof keys.secretKey === 'number' ? keys.secretKey : undefined };
  }
  const r = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  return { pid: r.rows[0].pid };
}

/**
 * Run one query; when `signal` fires, cancel it on the server and reject with QueryCancelled once the
 * server confirmed (or the session was terminated). `onInfo` receives what was done, for live output.
 */
export async function queryCancellable<R extends pg.QueryResultRow>(
  pool: pg.Pool,
  client: pg.PoolClient,
  backend: Backend,
  query: pg.QueryConfig,
  signal: AbortSignal,
  onInfo: (line: string) => void,
): Promise<pg.QueryResult<R> | pg.QueryResult<R>[]> {
  if (signal.aborted) throw new QueryCancelled('before the statement was sent');
  const running = client.query<R>(query) as Promise<pg.QueryResult<R> | pg.QueryResult<R>[]>;
  const settled = running.then(() => true, () => true);
  let cancelling: Promise<string> | undefined;
  let onAbort = () => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => {
      cancelling = cancelOnServer(pool, backend, settled, onInfo);
      void cancelling.then((how) => reject(new QueryCancelled(how)));
    };
  });
  // Observed here so it is never an unhandled rejection when `running` settles first.
  aborted.catch(() => {});
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    const outcome = await Promise.race([running, aborted]);
    if (signal.aborted) {
      await cancelling;
      throw new QueryCancelled('the statement finished just before the cancel reached the server');
    }
    return outcome;
  } catch (err) {
    if (err instanceof QueryCancelled || !signal.aborted) throw err;
    // The statement failed (57014, usually) before the cancel's own bookkeeping finished.
    throw new QueryCancelled(await cancelling!);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** Cancel, wait for `settled`, escalate to terminate; resolves to a description of what happened. */
async function cancelOnServer(pool: pg.Pool, backend: Backend, settled: Promise<boolean>, onInfo: (line: string) => void): Promise<string> {
  const { pid } = backend;
  let how = `pg_cancel_backend ${pid}`;
  try {
    const sent = await signalBackend(pool, 'pg_cancel_backend', pid);
    // The session is gone already (the server ended it): nothing runs any more.
    if (!sent) return `server session ${pid} had already ended`;
  } catch (err) {
    // No second session to be had (role at its connection limit, server full): the protocol's
    // CancelRequest needs no login and no connection slot.
    const why = (err as Error).message;
    if (backend.secretKey === undefined) return `statement on backend ${pid} could NOT be cancelled on the server: ${why}`;
    try {
      await sendCancelRequest(pool.options as pg.ClientConfig, backend);
      onInfo(`pg_cancel_backend impossible (${why}): sent a protocol cancel request to backend ${pid}`);
      how = `protocol cancel request to backend ${pid}`;
    } catch (err2) {
      return `statement on backend ${pid} could NOT be cancelled on the server: ${why}; cancel request: ${(err2 as Error).message}`;
    }
  }
  if (await within(settled, CANCEL_GRACE_MS)) return `statement cancelled on the server (${how})`;
  onInfo(`backend ${pid} did not stop within ${CANCEL_GRACE_MS} ms of the cancel: terminating the session`);
  try {
    await signalBackend(pool, 'pg_terminate_backend', pid);
  } catch (err) {
    return `statement on backend ${pid} ignored the cancel and could NOT be terminated: ${(err as Error).message}`;
  }
  await within(settled, TERMINATE_GRACE_MS);
  return `session terminated on the server (pg_terminate_backend ${pid}) after the cancel was ignored for ${CANCEL_GRACE_MS} ms`;
}

/** The CancelRequest packet libpq's PQcancel sends: length 16, code 80877102, pid, secret key. */
function sendCancelRequest(options: pg.ClientConfig, backend: Backend): Promise<void> {
  return new Promise((resolve, reject) => {
    const host = options.host ?? 'localhost';
    const port = Number(options.port ?? 5432);
    const target: [number, string] | [string] = host.startsWith('/') ? [path.join(host, `.s.PGSQL.${port}`)] : [port, host];
    // Through `via` the pool's stream factory gives a tunnel; it must carry the cancel too.
    const socket = typeof options.stream === 'function' ? (options.stream() as net.Socket) : new net.Socket();
    const timer = setTimeout(() => socket.destroy(new Error('no answer within 5 s')), 5_000);
    socket.once('connect', () => {
      const packet = Buffer.alloc(16);
      packet.writeInt32BE(16, 0);
      packet.writeInt32BE(80877102, 4);
      packet.writeInt32BE(backend.pid, 8);
      packet.writeInt32BE(backend.secretKey!, 12);
      socket.end(packet);
    });
    socket.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    // The server closes the socket once it has handled the request.
    socket.once('close', (hadError: boolean) => {
      clearTimeout(timer);
      if (!hadError) resolve();
    });
    (socket.connect as (...a: unknown[]) => unknown)(...target);
  });
}

/** A short-lived second connection with the pool's settings (the pool itself may be full). */
async function signalBackend(pool: pg.Pool, fn: 'pg_cancel_backend' | 'pg_terminate_backend', pid: number): Promise<boolean> {
  const options = pool.options as pg.ClientConfig;
  const client = new pg.Client({
    ...options,
    // pg.Pool keeps the password as a non-enumerable property: the spread above drops it.
    password: options.password,
    application_name: `${options.application_name ?? 'runbook'}:cancel`,
    connectionTimeoutMillis: Math.min(options.connectionTimeoutMillis || 5_000, 5_000),
  });
  client.on('error', () => {});
  try {
    await client.connect();
    const r = await client.query<{ ok: boolean }>(`SELECT ${fn}($1) AS ok`, [pid]);
    return r.rows[0].ok;
  } finally {
    await client.end().catch(() => {});
  }
}

function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.then(() => true),
    new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms))),
  ]).finally(() => clearTimeout(timer));
}
