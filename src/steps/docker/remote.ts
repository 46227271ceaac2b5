/**
 * Opening a `docker` connection (the heavy half, loaded on first use): the engine here, on one SSH
 * host (`host: ssh://…`, `via`), or — for a step with `on:` — on each host of the fan-out. An engine
 * on a host is reached as `docker -H ssh://` reaches it: a stream to its unix socket (OpenSSH's
 * direct-streamlocal) or to its tcp port, opened on the host's one pooled ssh connection, so a
 * fan-out's shell and docker steps and every request to the engine share one connection per host.
 * Host keys are verified as for every ssh connection (known_hosts or host_key; no "accept any").
 */
import type { ConnectionOpenContext } from '../types.js';
import { StepFailure } from '../types.js';
import type { SshHosts } from '../ssh/index.js';
import { resolveHosts } from '../ssh/hosts.js';
import type { SshConnectionConfig } from '../../transport/ssh/schema.js';
import type { HostConnection } from '../../transport/ssh/pool.js';
import { TunnelError, TunnelSocket } from '../../transport/ssh/tunnel.js';
import type { Duplex } from 'node:stream';
import { openDockerClient, type DockerClient } from './client.js';
import { isSshHost, parseSshEngine, remoteAddress, remoteEngine, SSH_ONLY_FIELDS, type DockerConnectionConfig, type RemoteEngine } from './host.js';

const given = (v: string | undefined): string | undefined => (v === undefined || v === '' ? undefined : v);

/** The connection's client: its own engine, plus (unless it names one engine's host) the same settings on each host of an `on:`. */
export async function openEngine(config: DockerConnectionConfig, ctx: ConnectionOpenContext): Promise<DockerClient> {
  const name = `docker connection${ctx.name ? ` '${ctx.name}'` : ''}`;
  const host = given(config.host);
  const sshFields = SSH_ONLY_FIELDS.filter((f) => given(config[f]) !== undefined);
  if (sshFields.length && !isSshHost(host)) throw new StepFailure(`${name}: ${sshFields.join(', ')} apply only to host: ssh://…`, undefined, 'DOCKER_CONFIG');
  if (given(config.key) !== undefined && given(config.key_file) !== undefined) throw new StepFailure(`${name}: give only one of key or key_file`, undefined, 'DOCKER_CONFIG');
  if (given(config.via) !== undefined) return openVia(config, ctx, name);
  if (isSshHost(host)) return openSsh(config, ctx, name);
  if (given(config.socket) !== undefined && host !== undefined) throw new StepFailure(`${name}: give only one of socket or host`, undefined, 'DOCKER_CONFIG');
  return withHosts(openDockerClient(config, ctx.env), config);
}

/** `via: <ssh connection>`: the engine on its one host. */
async function openVia(config: DockerConnectionConfig, ctx: ConnectionOpenContext, name: string): Promise<DockerClient> {
  if (!ctx.connection) throw new StepFailure(`${name}: via '${config.via}' needs the run's connections (not available here)`, undefined, 'DOCKER_CONFIG');
  const ssh = await ctx.connection<SshHosts>(config.via!, 'ssh');
  if (ssh.hosts.length !== 1) {
    throw new StepFailure(
      `${name}: via '${config.via}' stands for ${ssh.hosts.length} hosts; one engine is on one host (for the engine of each host, give the step on: ${config.via} and the connection no via)`,
      undefined,
      'DOCKER_CONFIG',
    );
  }
  const conn = ssh.host(ssh.hosts[0]);
  return oneEngine(config, conn, remoteEngine(config), `${remoteAddress(config)} on ${ssh.hosts[0].name}`);
}

/** `host: ssh://user@host[:port][/socket]`: an ssh target of its own (pooled with any other to the same user@host:port). */
function openSsh(config: DockerConnectionConfig, ctx: ConnectionOpenContext, name: string): DockerClient {
  if (!ctx.services) throw new StepFailure(`${name}: ssh:// needs the run's ssh pool (not available here)`, undefined, 'DOCKER_CONFIG');
  let engine;
  try {
    engine = parseSshEngine(config.host!, config.socket);
  } catch (e) {
    throw new StepFailure(`${name}: ${(e as Error).message}`, undefined, 'DOCKER_CONFIG');
  }
  const ssh: SshConnectionConfig = {
    host: engine.host,
    ...(engine.port !== undefined ? { port: engine.port } : {}),
    ...(engine.user !== undefined ? { user: engine.user } : {}),
    ...Object.fromEntries(SSH_ONLY_FIELDS.filter((f) => given(config[f]) !== undefined).map((f) => [f, config[f]])),
  };
  const [h] = resolveHosts(ctx.name ?? 'docker', ssh, { inventory: ctx.services.inventory, baseDir: ctx.baseDir });
  const conn = ctx.services.ssh.host(h.target);
  const where = `ssh://${h.target.user}@${h.target.host}:${h.target.port}${engine.socket}`;
  return oneEngine(config, conn, { kind: 'unix', path: engine.socket }, where);
}

/** A client of one engine on a host; it cannot be moved to the hosts of an `on:` (it is that one engine). */
function oneEngine(config: DockerConnectionConfig, conn: HostConnection, engine: RemoteEngine, where: string): DockerClient {
  const client = openDockerClient(config, {}, { where, dial: dialer(conn, engine, where) });
  return {
    ...client,
    onHost: () => {
      throw new StepFailure(
        `docker: this connection is the engine at ${where}; a step with on: talks to each host's own engine: give it a docker connection without host: ssh:// or via (its socket is then the path on each host)`,
        undefined,
        'DOCKER_CONFIG',
      );
    },
  };
}

/** Adds `onHost` to a local engine's client: the same settings (socket path, project, api_version) on each host. */
function withHosts(local: DockerClient, config: DockerConnectionConfig): DockerClient {
  const perHost = new Map<HostConnection, DockerClient>();
  return {
    ...local,
    onHost(conn) {
      let c = perHost.get(conn);
      if (!c) {
        let engine: RemoteEngine;
        try {
          engine = remoteEngine(config);
        } catch (e) {
          throw new StepFailure(`docker: ${(e as Error).message}`, undefined, 'DOCKER_CONFIG');
        }
        const where = `${remoteAddress(config)} on ${conn.target.name}`;
        c = openDockerClient(config, {}, { where, dial: dialer(conn, engine, where) });
        perHost.set(conn, c);
      }
      return c;
    },
    async close() {
      await Promise.allSettled([local.close(), ...[...perHost.values()].map((c) => c.close())]);
      perHost.clear();
    },
  };
}

/** A stream to the engine on the host of `conn`; a failure names the host and what it could not open. */
function dialer(conn: HostConnection, engine: RemoteEngine, where: string): () => Promise<Duplex> {
  return () =>
    new Promise((resolve, reject) => {
      const tunnel = new TunnelSocket(conn);
      const failed = (e: Error) => {
        const reason = e instanceof TunnelError ? e.reason : e.message;
        reject(new StepFailure(`docker: cannot reach the Docker API at ${where}: ${reason}`, undefined, 'DOCKER_UNREACHABLE'));
      };
      tunnel.once('error', failed);
      tunnel.once('connect', () => {
        tunnel.off('error', failed);
        resolve(tunnel);
      });
      if (engine.kind === 'unix') tunnel.connect(engine.path);
      else tunnel.connect(engine.port, engine.host);
    });
}
