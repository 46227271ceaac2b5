/**
 * `plan --preflight` for an http step: does the URL answer? Always a HEAD (falling back to GET only
 * for GET steps), never the step's own method: a preflight must not change anything. Any answer
 * below 500 counts as reachable (a 405 to HEAD on a POST endpoint still proves the route exists).
 */
import { loadUndici } from '../../util/undici.js';
import { describeHttpError, type HttpConnection } from './connection.js';
import { mergeHeaders, resolveUrl } from './request.js';
import type { HttpBody } from './schema.js';
import type { PreflightCheck, StepContext } from '../types.js';

export async function preflightHttp(b: HttpBody, ctx: StepContext): Promise<PreflightCheck[]> {
  const conn = b.connection ? await ctx.connection<HttpConnection>(b.connection, 'http') : undefined;
  const url = resolveUrl(b.url, conn?.config.base_url, b.query);
  const method = (b.method ?? 'GET').toUpperCase();
  const target = `${method} ${url.href}`;
  const headers = mergeHeaders(conn?.config.headers, b.headers);
  const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(10_000)]);
  try {
    const { request } = loadUndici();
    let res = await request(url, { method: 'HEAD', headers, dispatcher: conn?.redirecting, signal });
    await res.body.dump();
    if ((res.statusCode === 405 || res.statusCode === 501) && method === 'GET') {
      res = await request(url, { method: 'GET', headers, dispatcher: conn?.redirecting, signal });
      await res.body.dump();
    }
    const ok = res.statusCode < 500;
    return [{ target, ok, detail: `answers ${res.statusCode}${ok ? '' : ' (server error)'}` }];
  } catch (err) {
    return [{ target, ok: false, detail: describeHttpError(err) }];
  }
}
