/**
 * The `ssh` connection kind (spec §9): a named set of hosts reached over SSH. Opening it resolves
 * its hosts (inventory groups, ansible_* vars) and their targets; the connections themselves are
 * opened lazily by the run's one SshPool, once per host, and shared by every step, tunnel and
 * Docker socket on that host. `on: <connection>` runs a step on each of its hosts.
 */
import type { ConnectionKind, PreflightCheck, RunServices } from '../types.js';
import { sshConnectionSchema, type SshConnectionConfig } from '../../transport/ssh/schema.js';
import { describeTarget } from '../../transport/ssh/connect.js';
import type { HostConnection } from '../../transport/ssh/pool.js';
import { resolveHosts, SshConfigError, type RemoteHost } from './hosts.js';

export { resolveHosts, SshConfigError, type RemoteHost } from './hosts.js';

/** An opened ssh connection: its hosts, each reached through the run's one pool. */
export interface SshHosts {
  name: string;
  hosts: RemoteHost[];
  /** The pooled connection of one of its hosts. */
  host(h: RemoteHost): HostConnection;
}

export const sshConnection: ConnectionKind<SshConnectionConfig, SshHosts> = {
  name: 'ssh',
  description: 'SSH hosts: one `host`, or `hosts` of the inventory (groups or names). Host keys are always verified; `on: <name>` runs a step on each host.',
  schema: sshConnectionSchema,
  async open(config, ctx) {
    const services: RunServices | undefined = ctx.services;
    if (!services) throw new SshConfigError('ssh connections need the run (no ssh pool here)');
    const name = ctx.name ?? 'ssh';
    let via;
    if (config.via !== undefined) {
      if (!ctx.connection) throw new SshConfigError(`connection '${name}': via is not available here`);
      const jump = await ctx.connection<SshHosts>(config.via, 'ssh');
      if (jump.hosts.length !== 1) throw new SshConfigError(`connection '${name}': via '${config.via}' stands for ${jump.hosts.length} hosts; a jump host must be one`);
      via = jump.hosts[0].target;
    }
    const hosts = resolveHosts(name, config, { inventory: services.inventory, baseDir: ctx.baseDir, via });
    const opened: SshHosts = { name, hosts, host: (h) => services.ssh.host(h.target) };
    return opened;
  },
  // The pool is the run's: closed once at the run's end, not per connection. One line per host.
  preflight: (opened) => preflightHosts(opened),
  describe: (c) => (c.host !== undefined ? `ssh ${c.user ? `${c.user}@` : ''}${c.host}` : `ssh hosts ${[c.hosts].flat().join(', ')}`),
};

/** `plan --preflight`: connect to each host, check its key and the login, run `true`. Changes nothing. */
async function preflightHosts(opened: SshHosts): Promise<PreflightCheck[]> {
  return Promise.all(
    opened.hosts.map(async (h): Promise<PreflightCheck> => {
      const target = describeTarget(h.target);
      try {
        const t0 = Date.now();
        const r = await opened.host(h).execText('true');
        if (r.code !== 0) return { target, ok: false, detail: `${h.name}: logged in, but \`true\` exited ${r.code}` };
        return { target, ok: true, detail: `${h.name}: host key verified, logged in as ${h.target.user} (${Date.now() - t0} ms)` };
      } catch (e) {
        return { target, ok: false, detail: (e as Error).message };
      }
    }),
  );
}
