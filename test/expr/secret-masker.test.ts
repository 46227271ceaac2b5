import { describe, expect, it } from 'vitest';
import { SecretMasker } from '../../src/dsl/expr/index.js';

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
});
