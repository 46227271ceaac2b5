/**
 * secret_refs (secret-refs.ts): a masked value plus its refs rebuilds the exact value from the secrets,
 * for every form the masker hides, at any depth, and a value the refs cannot explain is `lost`, never
 * rebuilt wrongly. Also the address parsing helpers resume uses (address.ts).
 */
import { describe, expect, it } from 'vitest';
import { SecretMasker } from '../../src/dsl/expr/index.js';
import { restoreSecretRefs, secretRefsOf } from '../../src/interpreter/secret-refs.js';
import { parentAddress, stepPath } from '../../src/interpreter/address.js';
import { rng } from '../helpers/gen-runbook.js';

const roundTrip = (value: Record<string, unknown>, secrets: Record<string, string>) => {
  const masker = new SecretMasker(Object.values(secrets));
  const refs = secretRefsOf(value, secrets, masker);
  const masked = masker.maskDeep(structuredClone(value));
  const lost = restoreSecretRefs(masked, refs, secrets);
  return { masked, refs, lost };
};

describe('secret refs', () => {
  it('rebuilds raw, JSON-escaped and URL-encoded forms, nested in lists and objects, next to a literal ***', () => {
    const secrets = { pw: 'p@ss "w"/1', tok: 'T0K3N' };
    const value = {
      outputs: { url: `postgres://app:${encodeURIComponent(secrets.pw)}@db/x`, list: ['***', `a${secrets.tok}b${secrets.tok}`] },
      result: { stdout: `{"password":${JSON.stringify(secrets.pw)}}`, n: 3 },
    };
    const { masked, refs, lost } = roundTrip(value, secrets);
    expect(JSON.stringify(refs)).not.toContain(secrets.tok);
    expect(lost).toEqual([]);
    expect(masked).toEqual(value);
  });

  it('a secret the refs cannot explain (overlapping secrets, a secret in a key) is lost, and the value stays masked', () => {
    const secrets = { a: 'abcdef', b: 'defghi' };
    const value = { outputs: { both: 'xx abcdefghi yy', ['key-abcdef']: 1, ok: 'abcdef' } };
    const { masked, lost } = roundTrip(value, secrets);
    expect(lost).toHaveLength(2);
    expect(lost).toContain('outputs.both');
    expect((masked.outputs as Record<string, unknown>).both).toBe('xx *** yy');
    expect((masked.outputs as Record<string, unknown>).ok).toBe('abcdef');
  });

  it('a secret missing on resume leaves the value masked and says where', () => {
    const secrets = { pw: 's3cr3t' };
    const masker = new SecretMasker(['s3cr3t']);
    const value = { outputs: { v: 'x s3cr3t y' } };
    const refs = secretRefsOf(value, secrets, masker);
    const masked = masker.maskDeep(value);
    expect(restoreSecretRefs(masked, refs, {})).toEqual(['outputs.v']);
    expect(masked.outputs.v).toBe('x *** y');
  });

  it('property: random strings over an alphabet that makes secrets, their prefixes and *** collide', () => {
    const r = rng(4242);
    const alphabet = ['a', 'b', '*', '%', '"', ' ', '/'];
    const word = (n: number) => Array.from({ length: n }, () => alphabet[Math.floor(r() * alphabet.length)]).join('');
    let rebuilt = 0;
    for (let i = 0; i < 2000; i++) {
      const secrets = { s1: word(2 + Math.floor(r() * 3)), s2: word(2 + Math.floor(r() * 3)) };
      const value = { outputs: { v: word(20) + secrets.s1 + word(3) + secrets.s2 + word(5) } };
      const { masked, lost } = roundTrip(value, secrets);
      // Either rebuilt exactly, or reported lost (never a wrong value).
      if (lost.length) expect((masked.outputs as { v: string }).v).not.toBe(value.outputs.v);
      else {
        expect(masked).toEqual(value);
        rebuilt++;
      }
    }
    expect(rebuilt).toBeGreaterThan(500);
  });
});

describe('addresses', () => {
  it('stepPath and parentAddress walk addresses at any depth, host keys with dots included', () => {
    expect(stepPath('restore')).toEqual(['restore']);
    expect(stepPath('each[1].s2')).toEqual(['each', 's2']);
    expect(stepPath('outer[1].inner[0].x')).toEqual(['outer', 'inner', 'x']);
    expect(stepPath('restart[web-2.lan].check')).toEqual(['restart', 'check']);
    expect(parentAddress('each[1].s2')).toBe('each[1]');
    expect(parentAddress('each[1]/c')).toBe('each[1]');
    expect(parentAddress('outer[1].inner[0]')).toBe('outer[1]');
    expect(parentAddress('restart[web-2.lan]')).toBeUndefined();
    expect(parentAddress('each')).toBeUndefined();
  });
});
