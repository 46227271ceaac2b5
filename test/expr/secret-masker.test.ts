import { describe, expect, it } from 'vitest';
import { formEncode, SecretMasker } from '../../src/dsl/expr/index.js';

describe('SecretMasker', () => {
  it('masks secrets inside longer strings, every occurrence', () => {
    const m = new SecretMasker(['hunter2']);
    expect(m.mask('password=hunter2; again hunter2hunter2!')).toBe('password=***; again ******!');
    expect(m.mask('nothing here')).toBe('nothing here');
  });

  it('ignores empty secrets and duplicates', () => {
    const m = new SecretMasker(['', 'a1b2', 'a1b2']);
    expect(m.size).toBe(1);
    m.add('');
    m.add('a1b2');
    expect(m.size).toBe(1);
    expect(new SecretMasker([]).mask('text')).toBe('text');
  });

  it('masks the longest secret first and the union of overlapping ones', () => {
    const m = new SecretMasker(['abc', 'abcdef']);
    expect(m.mask('xabcdefx abcx')).toBe('x***x ***x');
    const overlap = new SecretMasker(['abcd', 'cdef']);
    expect(overlap.mask('_abcdef_')).toBe('_***_');
    expect(overlap.mask('_cdefabcd_')).toBe('_******_');
    const nested = new SecretMasker(['bc', 'abcd']);
    expect(nested.mask('abcd bc')).toBe('*** ***');
  });

  it('treats regex metacharacters in secrets literally', () => {
    const secrets = ['p@$$.w0rd*', '(a|b)+', '[x]^\\d{2}', 'a.b', '/slash/-dash-'];
    const m = new SecretMasker(secrets);
    expect(m.mask('1 p@$$.w0rd* 2 (a|b)+ 3 [x]^\\d{2} 4 a.b 5 /slash/-dash-')).toBe('1 *** 2 *** 3 *** 4 *** 5 ***');
    // Metacharacters do not act as patterns.
    expect(m.mask('aab axb ab')).toBe('aab axb ab');
  });

  it('masks JSON-escaped and URL-encoded forms', () => {
    const m = new SecretMasker(['p"a/s s\n']);
    expect(m.mask(JSON.stringify({ password: 'p"a/s s\n' }))).toBe('{"password":"***"}');
    expect(m.mask('postgres://app:p%22a%2Fs%20s%0A@db/x')).toBe('postgres://app:***@db/x');
  });

  it('picks up secrets added later', () => {
    const m = new SecretMasker(['one']);
    m.add('two');
    expect(m.size).toBe(2);
    expect(m.mask('one two three')).toBe('*** *** three');
  });

  it('masks deeply and returns a copy; keys are names, never masked', () => {
    const m = new SecretMasker(['s3cr3t']);
    const value = { url: 'https://u:s3cr3t@h', list: ['a', 's3cr3t', 3, null, true], nested: { s3cr3t: { deep: 'xs3cr3tx' } } };
    const masked = m.maskDeep(value);
    expect(masked).toEqual({ url: 'https://u:***@h', list: ['a', '***', 3, null, true], nested: { s3cr3t: { deep: 'x***x' } } });
    expect(value.url).toBe('https://u:s3cr3t@h');
    const cyclic: Record<string, unknown> = { a: 's3cr3t' };
    cyclic.self = cyclic;
    const out = m.maskDeep(cyclic) as Record<string, unknown>;
    expect(out.a).toBe('***');
    expect(out.self).toBe(out);
  });

  it('is fast on large output chunks', () => {
    const m = new SecretMasker(Array.from({ length: 50 }, (_, i) => `secret-value-${i}-${'x'.repeat(i)}`));
    const chunk = 'log line with ordinary text 12345\n'.repeat(30_000);
    const withSecret = `${chunk}secret-value-7-xxxxxxx\n${chunk}`;
    const t = performance.now();
    expect(m.mask(chunk)).toBe(chunk);
    expect(m.mask(withSecret)).toBe(`${chunk}***\n${chunk}`);
    // ~2 MB of text; generous bound for a shared 2-core machine.
    expect(performance.now() - t).toBeLessThan(2000);
  });

  it("masks every encoding the tool writes: issue 11's token and 'my secret!'", () => {
    const tok = 'S3cr3t/Tok+en=99"x&y';
    const m = new SecretMasker([tok, 'my secret!']);
    const url = new URL('http://h/x');
    url.searchParams.append('s', tok);
    url.searchParams.append('t', 'my secret!');
    expect(m.mask(url.href)).toBe('http://h/x?s=***&t=***');
    expect(m.mask(new URL(`http://h/x?t=${tok}`).href)).toBe('http://h/x?t=***');
    expect(m.mask(`http://h/p/${encodeURIComponent(tok)}`)).toBe('http://h/p/***');
    expect(m.mask(`a=${formEncode('my secret!')}`)).toBe('a=***');
    expect(m.mask(Buffer.from(tok).toString('base64'))).toBe('***');
    expect(m.mask(Buffer.from(tok).toString('base64url'))).toBe('***');
    // Basic auth: the password's base64 sits at some byte offset inside the header's base64.
    expect(m.mask(`Basic ${Buffer.from(`admin:${tok}`).toString('base64')}`)).not.toContain(Buffer.from(`admin:${tok}`).toString('base64'));
  });

  it('masks Authorization-like headers whole, and the credential after the scheme', () => {
    const m = new SecretMasker();
    m.addHeaders({ Authorization: 'Token alice:k3y', 'X-Api-Key': 'abcd1234', Accept: 'application/json', Cookie: 'sid=xyz' });
    expect(m.mask('sent Token alice:k3y and abcd1234; got alice:k3y back; sid=xyz; application/json')).toBe('sent *** and ***; got *** back; ***; application/json');
  });

  it('property: 2,000 random secrets never survive in any form the tool writes, whatever surrounds them', () => {
    let seed = 11;
    const r = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const alphabet = 'abcXYZ019 /?#&=+%"\\\'<>@:;!*()~-_.,\n\té✓🚀';
    const chars = [...alphabet];
    const random = (min: number, max: number) => {
      let out = '';
      const n = min + Math.floor(r() * (max - min + 1));
      for (let i = 0; i < n; i++) out += chars[Math.floor(r() * chars.length)];
      return out;
    };
    for (let i = 0; i < 2000; i++) {
      const secret = random(4, 16);
      const m = new SecretMasker([secret]);
      const pre = random(0, 5);
      const post = random(0, 5);
      const url = new URL('http://h/x');
      url.searchParams.append('q', secret);
      // The WHATWG serialiser's own encodings of each part, through its setters.
      const part = (set: (u: URL) => void, get: (u: URL) => string) => {
        const u = new URL('http://h/');
        set(u);
        return get(u);
      };
      const forms = [
        secret,
        JSON.stringify(secret).slice(1, -1),
        encodeURIComponent(secret),
        formEncode(secret),
        url.search.slice(3),
        part((u) => (u.hash = `#${secret}`), (u) => u.hash.slice(1)),
        part((u) => (u.username = secret), (u) => u.username),
        part((u) => (u.password = secret), (u) => u.password),
        ...(/[\\/?#]/.test(secret) ? [] : [part((u) => (u.pathname = `/${secret}`), (u) => u.pathname.slice(1))]),
        ...(secret.includes('#') ? [] : [part((u) => (u.search = `?${secret}`), (u) => u.search.slice(1))]),
        Buffer.from(secret).toString('base64'),
        Buffer.from(secret).toString('base64url'),
      ];
      // A form the URL parser shortens below 4 characters (dropping tabs and newlines) is not a secret any more.
      for (const form of forms.filter((f) => f.length >= 4)) {
        const masked = m.mask(`${pre}${form}${post}`);
        expect(masked, JSON.stringify({ secret, form, masked })).not.toContain(form);
        expect(masked, JSON.stringify({ secret, form, masked })).toContain('***');
      }
      // The secret's base64 inside a longer base64 text, at any byte offset.
      for (const lead of ['', 'a', 'ab']) {
        const b64 = Buffer.from(`${lead}${secret}${post}`).toString('base64');
        const masked = m.mask(b64);
        expect(masked, JSON.stringify({ secret, lead, b64 })).toContain('***');
      }
    }
  });
});
