/**
 * The `http` connection kind: a base URL, default headers and TLS settings, with one undici Agent
 * (keep-alive pool) shared by the run's requests and closed at its end. undici is loaded on the
 * first open, never by `validate` or `plan`.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Agent, Dispatcher } from 'undici';
import { loadUndici } from '../../util/undici.js';
import type { ConnectionKind, PreflightCheck } from '../types.js';

export interface HttpConnectionConfig {
  base_url: string;
  headers?: Record<string, string>;
  insecure_tls?: boolean;
  ca_file?: string;
}

export interface HttpConnection {
  config: HttpConnectionConfig;
  agent: Agent;
  /** The agent with redirects followed (up to 5). */
  redirecting: Dispatcher;
}

export const MAX_REDIRECTS = 5;

export const headersSchema = {
  type: 'object',
  description: 'HTTP headers, name → value.',
  additionalProperties: { type: 'string' },
};

export const httpConnectionSchema = {
  type: 'object',
  description: 'An HTTP(S) service: base URL, default headers, TLS settings.',
  additionalProperties: false,
  required: ['base_url'],
  properties: {
    base_url: { type: 'string', description: 'Base URL that relative step `url`s are appended to, e.g. http://localhost:8080/api.' },
    headers: { ...headersSchema, description: 'Headers sent with every request (e.g. Authorization from a secret); a step can override each.' },
    insecure_tls: { type: 'boolean', description: 'Accept any TLS certificate (self-signed, expired, wrong host). For drills only.' },
    ca_file: { type: 'string', description: 'PEM file of the CA(s) that sign the server certificate (relative to the runbook file).' },
  },
};

export interface TlsOptions {
  insecure_tls?: boolean;
  ca_file?: string;
}

/** An undici Agent for the TLS options; `ca_file` is read relative to `baseDir`. */
export function makeAgent(tls: TlsOptions, baseDir: string): Agent {
  const ca = tls.ca_file ? readFileSync(resolve(baseDir, tls.ca_file), 'utf8') : undefined;
  const { Agent } = loadUndici();
  return new Agent({ connect: { rejectUnauthorized: !tls.insecure_tls, ...(ca ? { ca } : {}) } });
}

export const followRedirects = (dispatcher: Dispatcher): Dispatcher =>
  dispatcher.compose(loadUndici().interceptors.redirect({ maxRedirections: MAX_REDIRECTS }));

/** Reachable = any answer below 500 to a HEAD (or GET, for servers that refuse HEAD) of base_url. */
async function preflightHttp(conn: HttpConnection, config: HttpConnectionConfig): Promise<PreflightCheck> {
  const target = config.base_url;
  const { request } = loadUndici();
  const ask = async (method: 'HEAD' | 'GET') => {
    const res = await request(config.base_url, {
      method,
      headers: config.headers,
      dispatcher: conn.agent,
      signal: AbortSignal.timeout(10_000),
    });
    await res.body.dump();
    return res.statusCode;
  };
  try {
    let status = await ask('HEAD');
    if (status === 405 || status === 501 || status >= 500) status = await ask('GET');
    return { target, ok: status < 500, detail: `HTTP ${status}` };
  } catch (err) {
    return { target, ok: false, detail: describeHttpError(err) };
  }
}

/** `ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:9` — the code first, for greppable messages. */
export function describeHttpError(err: unknown): string {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e.code ?? e.cause?.code;
  const message = e.message || e.cause?.message || String(err);
  return code && !message.startsWith(code) ? `${code}: ${message}` : message;
}

export const httpConnection: ConnectionKind<HttpConnectionConfig, HttpConnection> = {
  name: 'http',
  urlFields: ['base_url'],
  description: 'An HTTP(S) service.',
  schema: httpConnectionSchema,
  open(config, ctx) {
    const agent = makeAgent(config, ctx.baseDir);
    return { config, agent, redirecting: followRedirects(agent) };
  },
  async close(conn) {
    await conn.agent.close();
  },
  preflight: preflightHttp,
  describe: (config) => config.base_url,
};
