/**
 * Doing an `http` step: one request through undici, its body read up to 1 MiB and checked against
 * `expect_status`. Imported by `./http.ts` on the first execute, so `validate` and `plan` never load undici.
 */
import type { Agent, Dispatcher } from 'undici';
import { loadUndici } from '../../util/undici.js';
import { describeHttpError, followRedirects, makeAgent, type HttpConnection } from './connection.js';
import { makePayload, mergeHeaders, resolveUrl, withContentType } from './request.js';
import type { HttpBody } from './schema.js';
import { StepFailure, type StepContext } from '../types.js';

const BODY_LIMIT = 1024 * 1024;
const EXCERPT = 200;

/** The first MiB of the body as text; the rest is not downloaded. (notify reads its answers through it too.) */
export async function readBody(body: Dispatcher.ResponseData['body']): Promise<{ text: string; truncated: boolean; bytes: number }> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    const room = BODY_LIMIT - bytes;
    chunks.push(chunk.length > room ? chunk.subarray(0, room) : chunk);
    bytes += Math.min(chunk.length, room);
    // Leaving the loop destroys the stream: a huge body costs no more than its first MiB.
    if (chunk.length >= room) return { text: Buffer.concat(chunks).toString('utf8'), truncated: true, bytes };
  }
  return { text: Buffer.concat(chunks).toString('utf8'), truncated: false, bytes };
}

export function parseJson(text: string, contentType: string): unknown {
  const trimmed = text.trimStart();
  if (!/json/i.test(contentType) && !trimmed.startsWith('{') && !trimmed.startsWith('[')) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const isExpected = (status: number, expect: HttpBody['expect_status']): boolean =>
  expect === undefined ? status >= 200 && status < 300 : (Array.isArray(expect) ? expect : [expect]).includes(status);

export const excerpt = (text: string): string => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > EXCERPT ? `${flat.slice(0, EXCERPT)}…` : flat;
};

export async function executeHttp(b: HttpBody, ctx: StepContext): Promise<Record<string, unknown>> {
  const conn = b.connection ? await ctx.connection<HttpConnection>(b.connection, 'http') : undefined;
  const method = (b.method ?? 'GET').toUpperCase();
  const url = resolveUrl(b.url, conn?.config.base_url, b.query);
  const payload = makePayload(b);
  const headers = withContentType(mergeHeaders(conn?.config.headers, b.headers), payload.contentType);

  const what = `http ${method} ${url.href}`;

  // The connection's pooled agent unless the step asks for other TLS settings (or has no connection).
  const ownTls = b.insecure_tls !== undefined || b.ca_file !== undefined || !conn;
  let agent: Agent;
  try {
    agent = ownTls
      ? makeAgent({ insecure_tls: b.insecure_tls ?? conn?.config.insecure_tls, ca_file: b.ca_file ?? conn?.config.ca_file }, ctx.baseDir)
      : conn.agent;
  } catch (err) {
    throw new StepFailure(`${what}: cannot read ca_file: ${describeHttpError(err)}`);
  }
  const follow = b.follow_redirects !== false;
  const dispatcher = follow ? (ownTls ? followRedirects(agent) : conn.redirecting) : agent;

  const started = performance.now();
  try {
    const res = await loadUndici().request(url, { method: method as Dispatcher.HttpMethod, headers, body: payload.body, dispatcher, signal: ctx.signal });
    const { text, truncated } = await readBody(res.body);
    const contentType = String(res.headers['content-type'] ?? '');
    const json = truncated ? undefined : parseJson(text, contentType);
    const result: Record<string, unknown> = {
      status: res.statusCode,
      headers: res.headers,
      body: text,
      ...(truncated ? { body_truncated: true } : {}),
      ...(json !== undefined ? { json } : {}),
      duration_ms: Math.round(performance.now() - started),
      url: url.href,
    };
    if (!isExpected(res.statusCode, b.expect_status)) {
      const wanted = b.expect_status === undefined ? '2xx' : [b.expect_status].flat().join(' or ');
      const tail = text ? `: ${excerpt(text)}` : '';
      throw new StepFailure(`${what}: status ${res.statusCode}, expected ${wanted}${tail}`, result, 'HTTP_STATUS');
    }
    return result;
  } catch (err) {
    // Cancellation is the interpreter's to report (timed_out / cancelled): hand its reason back unchanged.
    if (ctx.signal.aborted) throw ctx.signal.reason ?? err;
    if (err instanceof StepFailure) throw err;
    throw new StepFailure(`${what}: ${describeHttpError(err)}`);
  } finally {
    if (ownTls) await agent.destroy();
  }
}
