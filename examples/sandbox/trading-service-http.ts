/** Minimal node:http plumbing for the sandbox service: JSON in and out, and a route table. */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Thrown by handlers for a client-caused problem; becomes `{ error }` with this status. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export interface Reply {
  status: number;
  body: unknown;
  /** Plain text instead of JSON (Prometheus exposition). */
  contentType?: string;
}

export interface Route {
  method: 'GET' | 'POST';
  /** Shown as the `uri` label in metrics. */
  uri: string;
  pattern: RegExp;
  handle(req: IncomingMessage, url: URL, params: string[]): Promise<Reply>;
}

export function findRoute(routes: Route[], method: string, pathname: string): { route?: Route; params: string[]; allowed: string[] } {
  const allowed: string[] = [];
  for (const route of routes) {
    const m = route.pattern.exec(pathname);
    if (!m) continue;
    if (route.method === method) return { route, params: m.slice(1).map(decodeURIComponent), allowed };
    allowed.push(route.method);
  }
  return { params: [], allowed };
}

export function send(res: ServerResponse, reply: Reply): void {
  const text = reply.contentType ? String(reply.body) : JSON.stringify(reply.body) + '\n';
  res.writeHead(reply.status, {
    'content-type': reply.contentType ?? 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

const MAX_BODY = 64 * 1024;

/** The request's JSON object body; `{}` when empty. */
export async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new HttpError(413, `request body over ${MAX_BODY} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'request body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpError(400, 'request body must be a JSON object');
  return value as Record<string, unknown>;
}

export function requireBoolean(body: Record<string, unknown>, field: string): boolean {
  const v = body[field];
  if (typeof v !== 'boolean') throw new HttpError(400, `body field "${field}" must be true or false`);
  return v;
}
