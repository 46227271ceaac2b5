/**
 * Host-key verification (spec §9: always, no "accept any key" option). The expected keys of a host
 * come from an OpenSSH `known_hosts` file (plain or hashed names, `[host]:port`, `@revoked`) or from
 * a `host_key` fingerprint (`SHA256:…`) or public key (`ssh-ed25519 AAAA…`). The algorithms offered
 * to the server are narrowed to the key types we know for it, as OpenSSH does, so that a host known
 * by its RSA key is not reported "changed" because it also has an ed25519 key.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

// node:crypto is loaded with the first fingerprint: `validate` reads this module (a step's `on:`
// hosts) but never checks a key, and crypto is twenty of Node's internal modules (docs/startup.md).
let crypto: typeof import('node:crypto') | undefined;
const lazyCrypto = () => (crypto ??= createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto'));

export interface KnownKey {
  type: string;
  blob: Buffer;
}

export interface HostKeyPolicy {
  /** Keys the host may present; empty = unknown host. */
  keys: KnownKey[];
  /** Fingerprints given as `host_key: SHA256:…` (the key type is not known then). */
  fingerprints: string[];
  revoked: KnownKey[];
  /** Where the expectation came from, for messages (`known_hosts ./known_hosts`, `host_key`). */
  source: string;
}

/** `SHA256:<base64 without padding>` of a key blob, as `ssh-keygen -l` prints it. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${lazyCrypto().createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** The key type written inside a blob (its first SSH string). */
export function blobType(blob: Buffer): string {
  if (blob.length < 4) return '?';
  const n = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + n).toString('latin1');
}

/** How known_hosts names a host: `host` on port 22, else `[host]:port`. */
export const knownHostsName = (host: string, port: number): string => (port === 22 ? host : `[${host}]:${port}`);

function matchesName(pattern: string, name: string): boolean {
  if (pattern.startsWith('|1|')) {
    const [, , salt, hash] = pattern.split('|');
    if (!salt || !hash) return false;
    return lazyCrypto().createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
  }
  let negated = false;
  let hit = false;
  for (let p of pattern.split(',')) {
    const neg = p.startsWith('!');
    if (neg) p = p.slice(1);
    const re = new RegExp('^' + p.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.').replace(/\[/g, '\\[').replace(/\]/g, '\\]') + '$');
    if (re.test(name)) {
      if (neg) negated = true;
      else hit = true;
    }
  }
  return hit && !negated;
}

/** The keys `known_hosts` lists for host:port (by its name and by its address when they differ). */
export function readKnownHosts(file: string, names: string[]): Pick<HostKeyPolicy, 'keys' | 'revoked'> {
  const text = readFileSync(file, 'utf8');
  const keys: KnownKey[] = [];
  const revoked: KnownKey[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const parts = line.split(/\s+/);
    let marker: string | undefined;
    if (parts[0].startsWith('@')) marker = parts.shift();
    const [pattern, type, b64] = parts;
    if (!pattern || !type || !b64) continue;
    if (!names.some((n) => matchesName(pattern, n))) continue;
    const key = { type, blob: Buffer.from(b64, 'base64') };
    // Decision: @cert-authority lines are not trusted (certificates are not verified here): a host
    // known only through a CA is "unknown", which is safe and says so.
    if (marker === '@revoked') revoked.push(key);
    else if (marker === undefined) keys.push(key);
  }
  return { keys, revoked };
}

/** `host_key:` as written: a `SHA256:…` fingerprint or a whole public key. */
export function parseHostKeySetting(value: string): Pick<HostKeyPolicy, 'keys' | 'fingerprints'> {
  const v = value.trim();
  if (/^SHA256:[A-Za-z0-9+/]+=*$/.test(v)) return { keys: [], fingerprints: [v.replace(/=+$/, '')] };
  const [type, b64] = v.split(/\s+/);
  if (type && b64 && /^[A-Za-z0-9+/]+=*$/.test(b64)) return { keys: [{ type, blob: Buffer.from(b64, 'base64') }], fingerprints: [] };
  throw new Error(`host_key must be a SHA256:… fingerprint or a public key ("ssh-ed25519 AAAA…"), got '${v.slice(0, 40)}'`);
}

export class HostKeyError extends Error {
  constructor(
    message: string,
    readonly code: 'HOST_KEY_UNKNOWN' | 'HOST_KEY_CHANGED' | 'HOST_KEY_REVOKED',
  ) {
    super(message);
    this.name = 'HostKeyError';
  }
}

/** Checks the key a server presented; returns undefined when it is trusted, else the error. */
export function checkHostKey(host: string, policy: HostKeyPolicy, presented: Buffer): HostKeyError | undefined {
  const got = fingerprint(presented);
  if (policy.revoked.some((k) => k.blob.equals(presented))) {
    return new HostKeyError(`host key of ${host} is revoked in ${policy.source}: ${got}`, 'HOST_KEY_REVOKED');
  }
  if (policy.keys.some((k) => k.blob.equals(presented)) || policy.fingerprints.includes(got)) return undefined;
  const expected = [...policy.keys.map((k) => fingerprint(k.blob)), ...policy.fingerprints];
  if (!expected.length) {
    return new HostKeyError(`host key of ${host} is unknown (not in ${policy.source}): the server presented ${got}`, 'HOST_KEY_UNKNOWN');
  }
  return new HostKeyError(
    `host key of ${host} has CHANGED: expected ${expected.join(' or ')} (${policy.source}), the server presented ${got}; ` +
      'if the host was rebuilt, update the known key — otherwise this may be an attack',
    'HOST_KEY_CHANGED',
  );
}

/** The host key algorithms to offer: the types we know for this host, or ssh2's defaults. */
export function hostKeyAlgorithms(policy: HostKeyPolicy): string[] | undefined {
  if (policy.fingerprints.length || !policy.keys.length) return undefined;
  const types = new Set(policy.keys.map((k) => k.type));
  const out: string[] = [];
  for (const t of types) {
    if (t === 'ssh-rsa') out.push('rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa');
    else out.push(t);
  }
  return out;
}
