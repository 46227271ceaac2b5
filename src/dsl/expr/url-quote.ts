/**
 * The one encoding rule of `${{ }}` in a URL (http `url`, connection URLs; spec §12): each value is
 * percent-encoded for the part of the URL its placeholder sits in, so a value is always data and
 * never URL structure — `../../admin?z=1#frag` stays inside its path segment, `p@ss:w/rd` inside
 * the password.
 *
 * - userinfo (before a literal `@` of the authority): encodeURIComponent;
 * - host and port: taken as written, but only if it is a host name, an IP address or a port;
 * - path: one segment (encodeURIComponent, so `/`, `?`, `#` and `%` are encoded); a segment that
 *   would be `.` or `..` is refused, since URL parsers resolve those even when percent-encoded;
 * - query and fragment: a query value (encodeURIComponent).
 *
 * A `url` that is exactly one `${{ }}` is taken as written, and so is a value at the very start of
 * a URL (`${{ env.API }}/v1/x`): it is the base the rest is written against.
 */
import { ExprError } from './errors.js';
import type { TemplatePart } from './template.js';

export type UrlContext = 'base' | 'userinfo' | 'host' | 'path' | 'query' | 'fragment';

const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;
const HOST = /^[A-Za-z0-9._~%:[\]-]*$/;

/** The URL part of every placeholder, by part index. */
export function urlContexts(parts: TemplatePart[]): Map<number, UrlContext> {
  const out = new Map<number, UrlContext>();
  const text = parts.map((p) => (p.kind === 'text' ? p.text : '\0')).join('');
  // Where each part starts in `text`.
  const starts: number[] = [];
  let pos = 0;
  for (const p of parts) {
    starts.push(pos);
    pos += p.kind === 'text' ? p.text.length : 1;
  }
  const scheme = SCHEME.exec(text);
  let authorityEnd = 0;
  let at = -1;
  if (scheme) {
    const rest = text.slice(scheme[0].length);
    const end = rest.search(/[/?#]/);
    authorityEnd = scheme[0].length + (end < 0 ? rest.length : end);
    at = text.lastIndexOf('@', authorityEnd - 1);
    if (at < scheme[0].length) at = -1;
  }
  const query = text.indexOf('?', authorityEnd);
  const fragment = text.indexOf('#', authorityEnd);
  parts.forEach((p, i) => {
    if (p.kind === 'text') return;
    const s = starts[i];
    let ctx: UrlContext;
    if (s === 0) ctx = 'base';
    else if (s < authorityEnd) ctx = at >= 0 && s < at ? 'userinfo' : 'host';
    else if (fragment >= 0 && s > fragment) ctx = 'fragment';
    else if (query >= 0 && s > query && (fragment < 0 || s < fragment)) ctx = 'query';
    else ctx = 'path';
    out.set(i, ctx);
  });
  return out;
}

/** A value as it is written into its part of the URL. Throws ExprError for a value that cannot be. */
export function encodeUrlValue(value: string, ctx: UrlContext, offset = 0): string {
  switch (ctx) {
    case 'base':
      return value;
    case 'host':
      if (!HOST.test(value)) throw new ExprError('EXPR_EVAL', `a value in the host of a URL must be a host name, an address or a port, got ${JSON.stringify(value)}`, offset);
      return value;
    default:
      return encodeURIComponent(value);
  }
}

/**
 * The URL with every value encoded for its part (`texts[i]` is part i's value as text; `undefined`
 * keeps the `${{ }}` source, for plans). Refuses a path segment that is only dots.
 */
export function renderUrl(parts: TemplatePart[], texts: (string | undefined)[]): string {
  const contexts = urlContexts(parts);
  let out = '';
  const segments: { from: number; to: number; offset: number }[] = [];
  parts.forEach((p, i) => {
    if (p.kind === 'text') {
      out += p.text;
      return;
    }
    const value = texts[i];
    if (value === undefined) {
      out += `\${{${p.source}}}`;
      return;
    }
    const ctx = contexts.get(i)!;
    const from = out.length;
    out += encodeUrlValue(value, ctx, p.offset - 3);
    if (ctx === 'path') segments.push({ from, to: out.length, offset: p.offset - 3 });
  });
  for (const s of segments) {
    const start = out.lastIndexOf('/', s.from - 1) + 1;
    const rest = out.slice(s.to).search(/[/?#]/);
    const segment = out.slice(start, rest < 0 ? out.length : s.to + rest);
    if (/^(\.|%2e){1,2}$/i.test(segment)) {
      throw new ExprError('EXPR_EVAL', `a value makes the URL path segment '${segment}', which would move up the path: refused`, s.offset);
    }
  }
  return out;
}
