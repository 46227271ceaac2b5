/**
 * A small Docker Engine API client on undici: unix socket or tcp — or any stream a `dial` opens (a
 * socket on an SSH host, ./remote.ts) — API version negotiated once (GET /version, capped to what we
 * support), every request abortable through its signal.
 */
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import { loadUndici } from '../../util/undici.js';
import type { HostConnection } from '../../transport/ssh/pool.js';
import { resolveDockerHost, type DockerConnectionConfig } from './host.js';
import { StepFailure } from '../types.js';

export type { DockerConnectionConfig };

export interface DockerResponse {
  status: number;
  /** Parsed body when it is JSON, else undefined. */
  json: unknown;
  text: string;
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  signal?: AbortSignal;
}

/** The newest API version whose paths and fields this client was written and tested against. */
export const SUPPORTED_API_VERSION = '1.41';

export interface DockerClient {
  /** `unix:///…` or `tcp://host:port`, for messages. */
  where: string;
  /** The compose project the connection is scoped to, if any. */
  project?: string;
  /** A JSON request under the negotiated `/v1.xx` prefix (unless `path` is `/_ping`, `/version` or starts with its own `/v<n>`). */
  request(method: string, path: string, opts?: RequestOptions): Promise<DockerResponse>;
  /** A streamed request: `onChunk` gets the body as it arrives; resolves with the status once it ends. */
  stream(method: string, path: string, onChunk: (chunk: Buffer) => void, opts?: RequestOptions): Promise<number>;
  /** The `v1.xx` in use (negotiates when needed). */
  apiVersion(signal?: AbortSignal): Promise<string>;
  close(): Promise<void>;
  /**
   * For a step with `on:`: the engine of this connection's settings on the host of `conn`, through
   * that host's pooled ssh connection (one client per host, closed with this one). Absent when the
   * connection itself names one engine's host (ssh://, via).
   */
  onHost?(conn: HostConnection): DockerClient;
}

/** Opens one stream to the engine (a channel on an ssh connection); rejects with a StepFailure naming the host. */
export type Dial = () => Promise<Duplex>;

const UNVERSIONED = /^\/(?:_ping|version)$|^\/v\d/;

const given = (v: string | undefined): string | undefined => (v === undefined || v === '' ? undefined : v);

export { resolveDockerHost };

/** `remote`: the engine is reached through `dial` (the connection's own address is then only for messages). */
export function openDockerClient(config: DockerConnectionConfig, env: NodeJS.ProcessEnv = process.env, remote?: { where: string; dial: Dial }): DockerClient {
  const where = remote?.where ?? resolveDockerHost(config, env);
  const { dispatcher, origin } = remote ? dialDispatcher(remote.dial) : makeDispatcher(where);
  let version: Promise<string> | undefined = given(config.api_version)
    ? Promise.resolve(normalizeVersion(config.api_version!))
    : undefined;

  async function send(method: string, path: string, opts: RequestOptions): Promise<Dispatcher.ResponseData> {
    const prefixed = UNVERSIONED.test(path) ? path : `/${await apiVersion(opts.signal)}${path}`;
    const body = opts.body === undefined ? undefined : Buffer.isBuffer(opts.body) ? opts.body : JSON.stringify(opts.body);
    try {
      return await dispatcher.request({
        origin,
        method: method as Dispatcher.HttpMethod,
        path: prefixed + toQuery(opts.query),
        headers: body === undefined ? {} : { 'content-type': Buffer.isBuffer(opts.body) ? 'application/x-tar' : 'application/json' },
        body,
        signal: opts.signal,
        // Waits and followed logs last as long as the step allows; the signal is the only deadline.
        headersTimeout: 0,
        bodyTimeout: 0,
      });
    } catch (err) {
      throw describeTransportError(err, where, opts.signal);
    }
  }

  async function request(method: string, path: string, opts: RequestOptions = {}): Promise<DockerResponse> {
    const res = await send(method, path, opts);
    let text: string;
    try {
      text = await res.body.text();
    } catch (err) {
      throw describeTransportError(err, where, opts.signal);
    }
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.statusCode, json, text };
  }

  async function stream(method: string, path: string, onChunk: (c: Buffer) => void, opts: RequestOptions = {}) {
    const res = await send(method, path, opts);
    try {
      if (res.statusCode >= 300) {
        const text = await res.body.text();
        throw new DockerApiError(res.statusCode, text, `${method} ${path}`);
      }
      for await (const chunk of res.body) onChunk(chunk as Buffer);
    } catch (err) {
      if (err instanceof DockerApiError) throw err;
      throw describeTransportError(err, where, opts.signal);
    }
    return res.statusCode;
  }

  function apiVersion(signal?: AbortSignal): Promise<string> {
    version ??= negotiate(signal).catch((err: unknown) => {
      version = undefined;
      throw err;
    });
    return version;
  }

  async function negotiate(signal?: AbortSignal): Promise<string> {
    const res = await request('GET', '/version', { signal });
    const server = (res.json as { ApiVersion?: string } | undefined)?.ApiVersion;
    if (res.status !== 200 || typeof server !== 'string') {
      throw new StepFailure(`docker: ${where} did not answer GET /version (HTTP ${res.status}): ${res.text.slice(0, 200)}`);
    }
    return normalizeVersion(compareVersions(server, SUPPORTED_API_VERSION) < 0 ? server : SUPPORTED_API_VERSION);
  }

  return {
    where,
    project: given(config.project),
    request,
    stream,
    apiVersion,
    close: () => dispatcher.close(),
  };
}

function makeDispatcher(where: string): { dispatcher: Dispatcher; origin: string } {
  const { Agent, Pool } = loadUndici();
  if (where.startsWith('unix://')) {
    const socketPath = where.slice('unix://'.length);
    // keepAliveTimeout short: the service may go away between runs, and a stale socket costs a retry.
    return { dispatcher: new Agent({ connect: { socketPath }, keepAliveTimeout: 4_000 }), origin: 'http://docker' };
  }
  const m = /^(?:tcp|http):\/\/([^/]+)\/?$/.exec(where);
  if (!m) throw new StepFailure(`docker: unsupported host '${where}' (use unix:///path/to/docker.sock, tcp://host:port or ssh://user@host)`);
  const origin = `http://${m[1]}`;
  return { dispatcher: new Pool(origin, { connections: 8 }), origin };
}

// Channels on one ssh connection: a few at once is plenty for a step's requests (logs follow + inspect).
const DIALED_CONNECTIONS = 4;

function dialDispatcher(dial: Dial): { dispatcher: Dispatcher; origin: string } {
  const connect = (_opts: unknown, cb: (err: Error | null, socket: Duplex | null) => void) => {
    dial().then(
      (s) => cb(null, s),
      (e: Error) => cb(e, null),
    );
  };
  const { Agent } = loadUndici();
  return { dispatcher: new Agent({ connect: connect as never, connections: DIALED_CONNECTIONS, keepAliveTimeout: 4_000 }), origin: 'http://docker' };
}

const normalizeVersion = (v: string): string => (v.startsWith('v') ? v : `v${v}`);

function compareVersions(a: string, b: string): number {
  const pa = a.replace(/^v/, '').split('.').map(Number);
  const pb = b.replace(/^v/, '').split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function toQuery(query: RequestOptions['query']): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
  const s = params.toString();
  return s ? `?${s}` : '';
}

/** An error answer of the Engine API (status ≥ 300), with the daemon's message. */
export class DockerApiError extends StepFailure {
  readonly apiMessage: string;
  /** `body` is the raw answer; its `message` field is used when it is JSON. */
  constructor(
    readonly status: number,
    body: string,
    what: string,
  ) {
    const message = apiMessage(body);
    super(`docker: ${what} failed (HTTP ${status}): ${message}`, undefined, status === 404 ? 'DOCKER_NOT_FOUND' : 'DOCKER_API');
    this.apiMessage = message;
  }
}

/** The daemon's `message` field, or the raw text. */
export function apiMessage(text: string): string {
  try {
    const j = JSON.parse(text) as { message?: string };
    if (typeof j.message === 'string') return j.message;
  } catch {
    // Not JSON.
  }
  return text.trim().slice(0, 500);
}

function describeTransportError(err: unknown, where: string, signal?: AbortSignal): unknown {
  // An abort is the interpreter's decision, not a connection problem: let it through as is.
  if (signal?.aborted) return signal.reason ?? err;
  if (err instanceof StepFailure) return err;
  const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  const code = e.code ?? e.cause?.code;
  if (code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'EACCES' || code === 'ENOTFOUND') {
    const why = code === 'ENOENT' ? 'no such socket' : code === 'EACCES' ? 'permission denied' : code === 'ENOTFOUND' ? 'unknown host' : 'connection refused';
    return new StepFailure(`docker: cannot reach the Docker API at ${where}: ${why} (${code})`, undefined, 'DOCKER_UNREACHABLE');
  }
  return new StepFailure(`docker: request to ${where} failed: ${e.message}`, undefined, 'DOCKER_UNREACHABLE');
}
