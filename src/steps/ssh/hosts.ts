/**
 * From an `ssh` connection's config (spec §9) to the hosts it stands for, each with the SshTarget
 * the pool connects to: `host` (one name or address) or `hosts` (inventory groups or host names);
 * the inventory's ansible_host / ansible_port / ansible_user win over the connection's fields, as
 * they do in Ansible. Host keys always come from known_hosts or `host_key`; private keys from a
 * secret (`key`) or a file, never journaled.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { parseDuration } from '../../dsl/duration.js';
import { hostOf, selectHosts, unknownNames, describeUnknown, type Inventory, type InventoryHost } from '../../inventory/index.js';
import { knownHostsName, parseHostKeySetting, readKnownHosts, type HostKeyPolicy } from '../../transport/ssh/host-key.js';
import type { SshTarget } from '../../transport/ssh/connect.js';
import type { SshConnectionConfig } from '../../transport/ssh/schema.js';
import { StepFailure } from '../types.js';

/** One host of a fan-out as steps see it (`host` in scope) plus where to connect. */
export interface RemoteHost {
  name: string;
  address: string;
  vars: Record<string, unknown>;
  target: SshTarget;
}

export const DEFAULT_KEY_FILES = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

export class SshConfigError extends StepFailure {
  constructor(message: string) {
    super(message, undefined, 'SSH_CONFIG');
  }
}

/** The names `hosts:` lists. */
export const hostNames = (c: SshConnectionConfig): string[] => (c.hosts === undefined ? [] : [c.hosts].flat());

/**
 * The hosts of the connection `name`. `via` is the jump host's target (the connection it names must
 * stand for exactly one host). Throws SshConfigError naming the connection.
 */
export function resolveHosts(name: string, c: SshConnectionConfig, o: { inventory?: Inventory; baseDir: string; via?: SshTarget }): RemoteHost[] {
  const where = `connection '${name}'`;
  let picked: InventoryHost[];
  if (c.hosts !== undefined) {
    if (!o.inventory) throw new SshConfigError(`${where}: hosts: needs an inventory (inventory: in the runbook, or --inventory FILE)`);
    const unknown = unknownNames(o.inventory, hostNames(c));
    if (unknown.length) throw new SshConfigError(`${where}: ${describeUnknown(o.inventory, unknown[0])}`);
    picked = selectHosts(o.inventory, hostNames(c));
    if (!picked.length) throw new SshConfigError(`${where}: hosts ${hostNames(c).join(', ')} stand for no host in ${o.inventory.file}`);
  } else {
    const h = String(c.host);
    picked = [o.inventory?.hosts.has(h) ? hostOf(o.inventory, h) : { name: h, address: h, vars: {} }];
  }
  const key = privateKey(where, c, o.baseDir);
  return picked.map((h) => {
    // The inventory's own key for a host wins, as in Ansible.
    const own = h.vars.ansible_ssh_private_key_file ?? h.vars.ansible_private_key_file;
    const hostKey = typeof own === 'string' && own !== '' ? privateKey(`${where}, host ${h.name}`, { key_file: own }, o.baseDir) : key;
    const port = h.port ?? (c.port === undefined ? 22 : Number(c.port));
    const target: SshTarget = {
      name: h.name,
      host: h.address,
      port,
      user: h.user ?? c.user ?? userInfo().username,
      ...(hostKey !== undefined ? { privateKey: hostKey } : {}),
      ...(c.passphrase !== undefined ? { passphrase: c.passphrase } : {}),
      hostKey: hostKeyPolicy(where, c, h, port, o.baseDir),
      connectTimeoutMs: duration(where, 'connect_timeout', c.connect_timeout, 10_000),
      keepaliveMs: duration(where, 'keepalive', c.keepalive, 5_000),
      maxSessions: c.max_sessions ?? 10,
      ...(o.via ? { via: o.via } : {}),
    };
    return { name: h.name, address: h.address, vars: h.vars, target };
  });
}

function duration(where: string, field: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const n = parseDuration(v);
  if (n === undefined || n <= 0) throw new SshConfigError(`${where}: ${field}: expected a duration such as 5s, got '${v}'`);
  return n;
}

const expandHome = (p: string, baseDir: string) => (p === '~' || p.startsWith('~/') ? join(homedir(), p.slice(1)) : resolve(baseDir, p));

function privateKey(where: string, c: SshConnectionConfig, baseDir: string): string | Buffer | undefined {
  if (c.key !== undefined) {
    if (c.key.trim() === '') throw new SshConfigError(`${where}: key is empty`);
    return c.key;
  }
  if (c.key_file !== undefined) {
    const file = expandHome(c.key_file, baseDir);
    try {
      return readFileSync(file);
    } catch (e) {
      throw new SshConfigError(`${where}: key_file ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : (e as Error).message}`);
    }
  }
  for (const f of DEFAULT_KEY_FILES) {
    const file = join(homedir(), '.ssh', f);
    if (existsSync(file)) return readFileSync(file);
  }
  return undefined;
}

function hostKeyPolicy(where: string, c: SshConnectionConfig, h: InventoryHost, port: number, baseDir: string): HostKeyPolicy {
  if (c.host_key !== undefined) {
    try {
      return { ...parseHostKeySetting(c.host_key), revoked: [], source: `host_key of ${where}` };
    } catch (e) {
      throw new SshConfigError(`${where}: ${(e as Error).message}`);
    }
  }
  const file = c.known_hosts !== undefined ? expandHome(c.known_hosts, baseDir) : join(homedir(), '.ssh', 'known_hosts');
  const names = [...new Set([knownHostsName(h.address, port), knownHostsName(h.name, port)])];
  if (!existsSync(file)) return { keys: [], fingerprints: [], revoked: [], source: `known_hosts ${file} (missing)` };
  try {
    return { ...readKnownHosts(file, names), fingerprints: [], source: `known_hosts ${file}` };
  } catch (e) {
    throw new SshConfigError(`${where}: known_hosts ${file}: ${(e as Error).message}`);
  }
}
