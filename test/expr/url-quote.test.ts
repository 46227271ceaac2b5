/**
 * The URL encoding rule (spec §12, dsl/expr/url-quote.ts): a value is percent-encoded for the part
 * of the URL its `${{ }}` sits in, so it is always data. Property test: random hostile values in the
 * path, the query, the fragment and the userinfo come back exactly from the WHATWG URL parser, in
 * their own part, with the URL's structure (segments, query names, host) unchanged.
 */
import { describe, expect, it } from 'vitest';
import { ExprError, parseTemplate, renderUrlTemplate, UNKNOWN } from '../../src/dsl/expr/index.js';

const render = (text: string, v: unknown[], opts = {}) => renderUrlTemplate(parseTemplate(text), { v }, opts);

describe('URL encoding of ${{ }} values', () => {
  it("keeps a path value inside its segment: issue 11's traversal", () => {
    const url = render('http://h:1/base/p/${{ v[0] }}', ['../../admin?z=1#frag']) as string;
    expect(url).toBe('http://h:1/base/p/..%2F..%2Fadmin%3Fz%3D1%23frag');
    const u = new URL(url);
    expect(u.pathname).toBe('/base/p/..%2F..%2Fadmin%3Fz%3D1%23frag');
    expect(u.search).toBe('');
    expect(u.hash).toBe('');
  });

  it('refuses a value that makes a segment . or .. (URL parsers resolve those even encoded)', () => {
    for (const v of ['..', '.']) {
      expect(() => render('/p/${{ v[0] }}/x', [v]), v).toThrow(ExprError);
      expect(() => render('/p/${{ v[0] }}', [v]), v).toThrow('would move up the path');
    }
    // An encoded dot in the value is a literal '%2e' once its '%' is encoded.
    expect(render('/p/${{ v[0] }}/x', ['%2e%2E'])).toBe('/p/%252e%252E/x');
    expect(render('/p/${{ v[0] }}x', ['..'])).toBe('/p/..x');
    expect(render('/p/${{ v[0] }}', ['...'])).toBe('/p/...');
  });

  it('encodes a query value and a fragment', () => {
    expect(render('/x?t=${{ v[0] }}&u=1#${{ v[1] }}', ['S3cr3t/Tok+en=99"x&y', 'a b#c'])).toBe('/x?t=S3cr3t%2FTok%2Ben%3D99%22x%26y&u=1#a%20b%23c');
  });

  it('encodes userinfo, so a password p@ss:w/rd works in a connection URL', () => {
    const url = render('postgres://app:${{ v[0] }}@127.0.0.1:5432/db', ['p@ss:w/rd']) as string;
    const u = new URL(url);
    expect(decodeURIComponent(u.password)).toBe('p@ss:w/rd');
    expect(u.username).toBe('app');
    expect(u.hostname).toBe('127.0.0.1');
    expect(u.pathname).toBe('/db');
    expect(decodeURIComponent(new URL(render('postgres://${{ v[0] }}@h/db', ['u@x:y']) as string).username)).toBe('u@x:y');
  });

  it('takes a host or port as written, but only a host name, address or port', () => {
    expect(render('http://${{ v[0] }}:${{ v[1] }}/x', ['127.0.0.1', 8080])).toBe('http://127.0.0.1:8080/x');
    expect(render('http://${{ v[0] }}/x', ['[::1]'])).toBe('http://[::1]/x');
    expect(() => render('http://${{ v[0] }}/x', ['evil.com/x?'])).toThrow('host of a URL');
    expect(() => render('http://${{ v[0] }}/x', ['a@b'])).toThrow('host of a URL');
  });

  it('takes a whole-expression url, and a value at the start (a base), as written', () => {
    expect(render('${{ v[0] }}', ['http://h/a b?c=d'])).toBe('http://h/a b?c=d');
    expect(render('${{ v[0] }}/health?x=${{ v[1] }}', ['http://h:1/api', 'a&b'])).toBe('http://h:1/api/health?x=a%26b');
  });

  it('gives UNKNOWN for an unknown value, or shows its source for a plan', () => {
    const scope = { v: ['a'], s: UNKNOWN };
    expect(renderUrlTemplate(parseTemplate('/p/${{ s }}'), scope)).toBe(UNKNOWN);
    expect(renderUrlTemplate(parseTemplate('/p/${{ s }}/${{ v[0] }}'), scope, { keepUnknown: true })).toBe('/p/${{ s }}/a');
  });

  it('property: 3,000 random hostile values come back exactly, each in its own part', () => {
    let seed = 7;
    const r = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const alphabet = ['/', '?', '#', '&', '=', '+', '%', '%2F', '%2e', '.', '..', '@', ':', ';', ' ', '"', "'", '<', '>', '\\', '[', ']', '{', '}', '|', '^', '`', '~', '!', '$', '(', ')', '*', ',', '\n', '\t', 'é', '✓', '🚀', 'a', 'Z', '0', '-', '_'];
    const value = () => {
      let s = '';
      const n = 1 + Math.floor(r() * 6);
      for (let i = 0; i < n; i++) s += alphabet[Math.floor(r() * alphabet.length)];
      return s === '.' || s === '..' ? `x${s}` : s;
    };
    for (let i = 0; i < 3000; i++) {
      const [p, q, f, pw] = [value(), value(), value(), value()];
      const url = render('https://user:${{ v[3] }}@example.test:8443/base/${{ v[0] }}/tail?name=${{ v[1] }}&k=1#${{ v[2] }}', [p, q, f, pw]) as string;
      const u = new URL(url);
      const ctx = JSON.stringify({ url, p, q, f, pw });
      expect(u.host, ctx).toBe('example.test:8443');
      expect(u.username, ctx).toBe('user');
      expect(decodeURIComponent(u.password), ctx).toBe(pw);
      const segments = u.pathname.split('/');
      expect(segments.length, ctx).toBe(4);
      expect([segments[1], segments[3]], ctx).toEqual(['base', 'tail']);
      expect(decodeURIComponent(segments[2]), ctx).toBe(p);
      expect([...u.searchParams.keys()], ctx).toEqual(['name', 'k']);
      expect(decodeURIComponent(u.search.slice(1).split('&')[0].slice(5)), ctx).toBe(q);
      expect(decodeURIComponent(u.hash.slice(1)), ctx).toBe(f);
    }
  });
});
