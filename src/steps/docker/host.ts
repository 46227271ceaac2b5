/**
 * Where a `docker` connection points. Light (no undici, no ssh2), so the connection kind can describe
 * itself for `plan` without loading the client.
 *
 * Three ways to an engine: here (`socket`, a `unix://` or `tcp://` `host`, DOCKER_HOST, else the
 * default socket); on one SSH host (`host: ssh://user@host[:port][/socket]`, as the Docker CLI and
 * Podman write it, or `via: <ssh connection>`); and, for a step with `on:`, on each host of the fan-out,
 * where the connection's socket (or tcp address) is read as that host sees it.
 */

export interface DockerConnectionConfig {
  socket?: string;
  host?: string;
  project?: string;
  api_version?: string;
  /** An ssh connection (one host) whose engine this is. */
  via?: string;
  // For `host: ssh://…` only: as in an ssh connection.
  known_hosts?: string;
  host_key?: string;
  key?: string;
  key_file?: string;
  passphrase?: string;
  connect_timeout?: string;
  keepalive?: string;
}

/** The engine's socket when nothing says otherwise (Docker's; Podman's rootful one is /run/podman/podman.sock). */
export const DEFAULT_SOCKET = '/var/run/docker.sock';

/** The fields that only make sense with `host: ssh://…`. */
export const SSH_ONLY_FIELDS = ['known_hosts', 'host_key', 'key', 'key_file', 'passphrase', 'connect_timeout', 'keepalive'] as const;

// `${{ env.X }}` of an unset variable resolves to ''; treat it as "not given".
const given = (v: string | undefined): string | undefined => (v === undefined || v === '' ? undefined : v);

/** Where the connection points: `socket`, `host`, DOCKER_HOST, else the default socket. */
export function resolveDockerHost(config: DockerConnectionConfig, env: NodeJS.ProcessEnv): string {
  const socket = given(config.socket);
  if (given(config.via) !== undefined) return `${remoteAddress(config)} on ${config.via}`;
  if (socket !== undefined) return `unix://${socket}`;
  return given(config.host) ?? given(env.DOCKER_HOST) ?? `unix://${DEFAULT_SOCKET}`;
}

export const isSshHost = (host: string | undefined): boolean => /^ssh:\/\//i.test(host ?? '');

export interface SshEngine {
  user?: string;
  host: string;
  port?: number;
  /** The engine's socket on that host. */
  socket: string;
}

/**
 * `ssh://[user@]host[:port][/path/of/socket]`. The Docker CLI takes no path (its engine is at
 * /var/run/docker.sock); Podman's connections carry one (`ssh://core@host/run/podman/podman.sock`).
 * `socket` next to it names the socket too. Throws a message naming what is wrong (never a password:
 * an ssh URL with one is refused).
 */
export function parseSshEngine(url: string, socket?: string): SshEngine {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`docker host '${url}' is not a valid ssh:// URL (ssh://user@host[:port][/path/to/socket])`);
  }
  if (u.password) throw new Error('docker host: a password in an ssh:// URL is not supported (use key or key_file)');
  if (u.search || u.hash) throw new Error(`docker host '${url}': ssh:// URLs take no ?query or #fragment`);
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) throw new Error(`docker host '${url}' names no host`);
  const path = decodeURIComponent(u.pathname);
  const fromUrl = path === '' || path === '/' ? undefined : path;
  const s = given(socket);
  if (fromUrl !== undefined && s !== undefined && fromUrl !== s) {
    throw new Error(`docker host '${url}' names socket ${fromUrl} and socket: says ${s}; keep one`);
  }
  return {
    ...(u.username ? { user: decodeURIComponent(u.username) } : {}),
    host,
    ...(u.port ? { port: Number(u.port) } : {}),
    socket: fromUrl ?? s ?? DEFAULT_SOCKET,
  };
}

/** The engine's address as the host it runs on sees it (`via`, and every host of an `on:` step). */
export type RemoteEngine = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

/**
 * For `via` and `on:`: `socket`, or the path of a `unix://` host, or a `tcp://` host (opened from the
 * host), else the default socket. DOCKER_HOST is the runner's own setting, not the host's: not read.
 */
export function remoteEngine(config: DockerConnectionConfig): RemoteEngine {
  const socket = given(config.socket);
  if (socket !== undefined) return { kind: 'unix', path: socket };
  const host = given(config.host);
  if (host === undefined) return { kind: 'unix', path: DEFAULT_SOCKET };
  if (host.startsWith('unix://')) return { kind: 'unix', path: host.slice('unix://'.length) };
  const m = /^(?:tcp|http):\/\/(\[[^\]]+\]|[^/:]+):(\d+)\/?$/.exec(host);
  if (m) return { kind: 'tcp', host: m[1].replace(/^\[(.*)\]$/, '$1'), port: Number(m[2]) };
  throw new Error(`docker host '${host}' cannot be reached on an ssh host (use a socket path, unix:// or tcp://host:port)`);
}

/** `unix:///var/run/docker.sock` or `tcp://127.0.0.1:2375`, for messages. */
export function remoteAddress(config: DockerConnectionConfig): string {
  try {
    const e = remoteEngine(config);
    return e.kind === 'unix' ? `unix://${e.path}` : `tcp://${e.host}:${e.port}`;
  } catch {
    return String(config.host);
  }
}
