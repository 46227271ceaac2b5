/**
 * Turning an `http` step body into what undici sends: the URL, the headers, the body.
 */
import { StepFailure } from '../types.js';

const ABSOLUTE = /^[a-z][a-z0-9+.-]*:\/\//i;

/** An absolute `url` as is; a relative one appended to `baseUrl` (its path kept: `/api` + `/x` → `/api/x`). */
export function resolveUrl(url: string, baseUrl: string | undefined, query?: Record<string, unknown>): URL {
  let full: URL;
  if (ABSOLUTE.test(url)) full = new URL(url);
  else if (baseUrl) full = new URL(`${baseUrl.replace(/\/+$/, '')}/${url.replace(/^\/+/, '')}`);
  else throw new StepFailure(`http: url '${url}' is relative: give an absolute URL or a connection with a base_url`);
  for (const [name, value] of Object.entries(query ?? {})) {
    for (const v of Array.isArray(value) ? value : [value]) {
      if (v !== null && v !== undefined) full.searchParams.append(name, String(v));
    }
  }
  return full;
}

/** Later header sets override earlier ones by name, whatever the case; the last spelling wins. */
export function mergeHeaders(...sets: (Record<string, string> | undefined)[]): Record<string, string> {
  const byName = new Map<string, [string, string]>();
  for (const set of sets) {
    for (const [name, value] of Object.entries(set ?? {})) byName.set(name.toLowerCase(), [name, String(value)]);
  }
  return Object.fromEntries(byName.values());
}

export interface RequestPayload {
  body?: string;
  contentType?: string;
}

/** The request body from `json`, `body` or `form` (at most one). */
export function makePayload(b: { json?: unknown; body?: string; form?: Record<string, unknown> }): RequestPayload {
  const given = (['json', 'body', 'form'] as const).filter((k) => b[k] !== undefined);
  if (given.length > 1) throw new StepFailure(`http: give one of json, body, form (got ${given.join(', ')})`);
  if (b.json !== undefined) return { body: JSON.stringify(b.json), contentType: 'application/json' };
  if (b.form !== undefined) {
    const form = new URLSearchParams();
    for (const [name, value] of Object.entries(b.form)) form.append(name, String(value));
    return { body: form.toString(), contentType: 'application/x-www-form-urlencoded' };
  }
  return { body: b.body };
}

const hasHeader = (headers: Record<string, string>, name: string) =>
  Object.keys(headers).some((h) => h.toLowerCase() === name);

export function withContentType(headers: Record<string, string>, contentType?: string): Record<string, string> {
  return contentType && !hasHeader(headers, 'content-type') ? { ...headers, 'content-type': contentType } : headers;
}
