// known_hosts parsing and host-key decisions, without a server: hashed names, [host]:port,
// wildcards and negation, @revoked, host_key fingerprints and public keys.
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkHostKey, fingerprint, hostKeyAlgorithms, parseHostKeySetting, readKnownHosts } from '../../src/transport/ssh/host-key.js';

const key = (n: number) => {
  const type = Buffer.from('ssh-ed25519');
  const body = Buffer.alloc(32, n);
  const b = Buffer.alloc(4 + type.length + 4 + 32);
  b.writeUInt32BE(type.length, 0);
  type.copy(b, 4);
  b.writeUInt32BE(32, 4 + type.length);
  body.copy(b, 8 + type.length);
  return b;
};
const hashed = (name: string) => {
  const salt = randomBytes(20);
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
};

describe('host keys', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rb-kh-'));
  const file = join(dir, 'known_hosts');
  writeFileSync(
    file,
    [
      '# comment',
      `${hashed('[10.0.0.5]:2222')} ssh-ed25519 ${key(1).toString('base64')}`,
      `web-*.example.com,!web-9.example.com ssh-ed25519 ${key(2).toString('base64')}`,
      `@revoked * ssh-ed25519 ${key(3).toString('base64')}`,
      `@cert-authority *.example.com ssh-ed25519 ${key(4).toString('base64')}`,
    ].join('\n'),
  );
  const policy = (names: string[]) => ({ ...readKnownHosts(file, names), fingerprints: [], source: `known_hosts ${file}` });

  it('matches hashed names with their port, wildcards and negations', () => {
    expect(policy(['[10.0.0.5]:2222']).keys.map((k) => k.blob)).toEqual([key(1)]);
    expect(policy(['10.0.0.5']).keys).toEqual([]);
    expect(policy(['web-1.example.com']).keys.map((k) => k.blob)).toEqual([key(2)]);
    expect(policy(['web-9.example.com']).keys).toEqual([]);
    expect(hostKeyAlgorithms(policy(['web-1.example.com']))).toEqual(['ssh-ed25519']);
  });

  it('decides: trusted, changed (both fingerprints), unknown, revoked; CA lines are not trusted', () => {
    expect(checkHostKey('db', policy(['[10.0.0.5]:2222']), key(1))).toBeUndefined();
    expect(checkHostKey('db', policy(['[10.0.0.5]:2222']), key(2))?.message).toBe(
      `host key of db has CHANGED: expected ${fingerprint(key(1))} (known_hosts ${file}), the server presented ${fingerprint(key(2))}; if the host was rebuilt, update the known key — otherwise this may be an attack`,
    );
    expect(checkHostKey('x', policy(['x.example.org']), key(5))?.code).toBe('HOST_KEY_UNKNOWN');
    expect(checkHostKey('x', policy(['x.example.org']), key(3))?.code).toBe('HOST_KEY_REVOKED');
    expect(checkHostKey('a', policy(['a.example.com']), key(4))?.code).toBe('HOST_KEY_UNKNOWN');
  });

  it('host_key: a SHA256 fingerprint or a public key line', () => {
    const fp = parseHostKeySetting(fingerprint(key(7)));
    expect(checkHostKey('h', { ...fp, revoked: [], source: 'host_key' }, key(7))).toBeUndefined();
    expect(checkHostKey('h', { ...fp, revoked: [], source: 'host_key' }, key(8))?.code).toBe('HOST_KEY_CHANGED');
    const pub = parseHostKeySetting(`ssh-ed25519 ${key(7).toString('base64')} comment`);
    expect(checkHostKey('h', { ...pub, fingerprints: [], revoked: [], source: 'host_key' }, key(7))).toBeUndefined();
    expect(() => parseHostKeySetting('yes')).toThrow(/host_key must be a SHA256:… fingerprint or a public key/);
  });
});
