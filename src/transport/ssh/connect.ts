/**
 * Opening one ssh2 connection to one host: host key checked before anything else, `setNoDelay`
 * (Nagle against delayed ACKs costs ~40 ms a command), keepalive, a jump host through `via`, and
 * every failure turned into one sentence that names the host.
 */
import type { Client as SshClient, ConnectConfig } from 'ssh2';
import type { Duplex } from 'node:stream';
import { checkHostKey, fingerprint, hostKeyAlgorithms, HostKeyError, type HostKeyPolicy } from './host-key.js';

export interface SshTarget {
  /** The host's name (inventory name, or the address), for messages. */
  name: string;
  host: string;
  port: number;
  user: string;
  privateKey?: string | Buffer;
  passphrase?: string;
  hostKey: HostKeyPolicy;
  connectTimeoutMs: number;
  /** Keepalive interval; the peer is declared dead after 3 unanswered ones. */
  keepaliveMs: number;
  /** Channels at once on this connection (OpenSSH's MaxSessions, 10 by default). */
  maxSessions: number;
  via?: SshTarget;
}

export class SshConnectError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'SshConnectError';
  }
}

export const describeTarget = (t: SshTarget): string =>
  `${t.name === t.host ? t.host : `${t.name} (${t.host})`}:${t.port}${t.via ? ` via ${t.via.name}` : ''}`;

/**
 * The identity of a connection in the pool: same user, address, port, jump path and the same
 * expected host keys = one connection. Two connections that trust different keys for one address
 * never share a connection: each is checked against its own expectation.
 */
export const targetKey = (t: SshTarget): string =>
  `${t.user}@${t.host}:${t.port}#${trustedKeys(t.hostKey)}${t.via ? `<${targetKey(t.via)}` : ''}`;

const trustedKeys = (p: HostKeyPolicy): string =>
  [...p.keys.map((k) => fingerprint(k.blob)), ...p.fingerprints, ...p.revoked.map((k) => `!${fingerprint(k.blob)}`)].sort().join(',');

/** Connects and authenticates; `sock` is a stream through a jump host. Rejects with SshConnectError or HostKeyError. */
export async function connectSsh(t: SshTarget, sock?: Duplex): Promise<SshClient> {
  // Loaded on first use (~90 ms): a run without ssh connections never pays for it.
  const ssh2 = (await import('ssh2')).default;
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    let keyError: HostKeyError | undefined;
    let settled = false;
    const fail = (e: Error) => {
      if (settled) return;
      settled = true;
      client.end();
      reject(e);
    };
    const algorithms = hostKeyAlgorithms(t.hostKey);
    const config: ConnectConfig = {
      host: t.host,
      port: t.port,
      username: t.user,
      // Straight to publickey: the customary `none` probe first costs a round trip and is refused anyway.
      ...(t.privateKey !== undefined ? { privateKey: t.privateKey, authHandler: ['publickey'] } : {}),
      ...(t.passphrase !== undefined ? { passphrase: t.passphrase } : {}),
      readyTimeout: t.connectTimeoutMs,
      keepaliveInterval: t.keepaliveMs,
      keepaliveCountMax: 3,
      ...(sock ? { sock } : {}),
      ...(algorithms ? { algorithms: { serverHostKey: algorithms as never } } : {}),
      hostVerifier: (key: Buffer) => {
        keyError = checkHostKey(t.name, t.hostKey, key);
        return keyError === undefined;
      },
    };
    client.once('ready', () => {
      if (settled) return;
      settled = true;
      client.setNoDelay(true);
      resolve(client);
    });
    // `on`, not `once`: ssh2 may report a second error while a failed login winds down (a peer
    // that vanished mid-handshake), and an unheard 'error' would crash the run.
    client.on('error', (e: Error & { level?: string; code?: string }) => fail(keyError ?? describeConnectError(t, e)));
    client.once('close', () => fail(keyError ?? new SshConnectError(`ssh ${describeTarget(t)}: the server closed the connection during login`, 'SSH_CONNECT')));
    try {
      client.connect(config);
      // From the first byte, not only once ready: Nagle against the server's delayed ACK held the
      // handshake's small packets for ~40 ms (a connection took ~120 ms on loopback, now ~60 ms).
      client.setNoDelay(true);
    } catch (e) {
      fail(new SshConnectError(`ssh ${describeTarget(t)}: ${(e as Error).message}`, 'SSH_CONFIG'));
    }
  });
}

function describeConnectError(t: SshTarget, e: Error & { level?: string; code?: string }): SshConnectError {
  const where = `ssh ${describeTarget(t)}`;
  if (e.level === 'client-authentication') {
    return new SshConnectError(`${where}: login as '${t.user}' refused (publickey): wrong user or key`, 'SSH_AUTH');
  }
  if (e.level === 'client-timeout') return new SshConnectError(`${where}: no answer within ${t.connectTimeoutMs / 1000}s (connect_timeout)`, 'SSH_TIMEOUT');
  if (e.code === 'ECONNREFUSED') return new SshConnectError(`${where}: connection refused (is sshd listening on port ${t.port}?)`, 'SSH_REFUSED');
  if (e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') return new SshConnectError(`${where}: unknown host name ${t.host}`, 'SSH_DNS');
  if (e.code === 'EHOSTUNREACH' || e.code === 'ENETUNREACH') return new SshConnectError(`${where}: host unreachable`, 'SSH_UNREACHABLE');
  if (/private key|passphrase|Cannot parse/i.test(e.message)) return new SshConnectError(`${where}: cannot use the private key: ${e.message}`, 'SSH_KEY');
  return new SshConnectError(`${where}: ${e.message}`, 'SSH_CONNECT');
}

/** A TCP stream to host:port opened from `client` (a jump host or a tunnel). */
export function forwardOut(client: SshClient, host: string, port: number): Promise<Duplex> {
  return new Promise((resolve, reject) =>
    client.forwardOut('127.0.0.1', 0, host, port, (err, stream) => (err ? reject(err) : resolve(stream as unknown as Duplex))),
  );
}

/** A stream to a unix socket on the host (`/var/run/docker.sock`), as `docker -H ssh://` does. */
export function forwardOutStreamLocal(client: SshClient, path: string): Promise<Duplex> {
  return new Promise((resolve, reject) =>
    client.openssh_forwardOutStreamLocal(path, (err, stream) => (err ? reject(err) : resolve(stream as unknown as Duplex))),
  );
}
