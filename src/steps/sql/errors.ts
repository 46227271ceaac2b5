/**
 * Messages for what can go wrong talking to PostgreSQL: connecting (naming host:port/database, never
 * the password) and SQL errors (SQLSTATE, and the position turned into line/column of the SQL text).
 */
import type { PoolTarget } from './connection.js';

/** What the server sent with an error (pg's DatabaseError fields). */
interface PgErrorFields {
  code?: string;
  severity?: string;
  position?: string;
  detail?: string;
  hint?: string;
  where?: string;
}

const CONNECT_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused (is the server running and listening there?)',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'no answer (timed out)',
  ECONNRESET: 'connection reset by the server',
  ENOENT: 'no unix socket there (is the server running?)',
};

/** Whether an error came from the server (it has a SQLSTATE) rather than from the network. */
export function isServerError(err: unknown): boolean {
  const code = (err as PgErrorFields | undefined)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code);
}

/** SQLSTATE 28xxx: the server refused our credentials. */
export function isAuthError(err: unknown): boolean {
  return isServerError(err) && (err as PgErrorFields).code!.startsWith('28');
}

/** `cannot connect to postgres 127.0.0.1:5432/app: connection refused (ECONNREFUSED)`. */
export function describeConnectError(err: unknown, pool: PoolTarget): string {
  const e = err as Error & PgErrorFields;
  let reason: string;
  // Through `via`: what the ssh connection or the host said (it names the host).
  if (e.code === 'SSH_TUNNEL') reason = (e as unknown as { reason: string }).reason;
  else if (isServerError(e)) reason = `${e.message} (${e.code})`;
  else if (e.code && CONNECT_REASONS[e.code]) reason = `${CONNECT_REASONS[e.code]} (${e.code})`;
  else if (/timeout/i.test(e.message ?? '')) reason = 'no answer within the connect timeout';
  else reason = e.message ?? String(err);
  return mask(`cannot connect to postgres ${pool.target}: ${reason}`, pool.secret);
}

/**
 * `ERROR 42P01: relation "x" does not exist at line 2, col 15`, then DETAIL / HINT / CONTEXT lines.
 * `sql` is the text that was sent, so the server's 1-based character position can be placed in it.
 */
export function describeSqlError(err: unknown, sql: string, secret?: string): string {
  const e = err as Error & PgErrorFields;
  if (!isServerError(e)) return mask(`postgres: ${e.message ?? String(err)}`, secret);
  const at = e.position ? ` at ${lineCol(sql, Number(e.position))}` : '';
  const lines = [`${e.severity ?? 'ERROR'} ${e.code}: ${e.message}${at}`];
  if (e.detail) lines.push(`DETAIL: ${e.detail}`);
  if (e.hint) lines.push(`HINT: ${e.hint}`);
  if (e.where) lines.push(`CONTEXT: ${e.where}`);
  return mask(lines.join('\n'), secret);
}

/** The error's fields for `steps.<id>.result` of a failed step. */
export function sqlErrorResult(err: unknown, sql: string): Record<string, unknown> {
  const e = err as PgErrorFields;
  if (!isServerError(e)) return {};
  const position = e.position ? Number(e.position) : undefined;
  return {
    sqlstate: e.code,
    severity: e.severity,
    ...(position ? { position, ...lineColOf(sql, position) } : {}),
    ...(e.detail ? { detail: e.detail } : {}),
    ...(e.hint ? { hint: e.hint } : {}),
  };
}

function lineColOf(sql: string, position: number): { line: number; col: number } {
  // The server counts characters (code points), not UTF-16 units.
  const before = Array.from(sql).slice(0, position - 1).join('');
  const lines = before.split('\n');
  return { line: lines.length, col: Array.from(lines[lines.length - 1]).length + 1 };
}

function lineCol(sql: string, position: number): string {
  const { line, col } = lineColOf(sql, position);
  return `line ${line}, col ${col}`;
}

/** Last line of defence: the interpreter masks secrets too, but a password must never get this far. */
function mask(text: string, secret?: string): string {
  return secret && secret.length >= 3 ? text.split(secret).join('***') : text;
}
