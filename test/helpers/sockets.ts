/**
 * What the kernel says about loopback TCP connections (/proc/net/tcp), so a test can prove where a
 * connection really goes: how many are established to a server's port, and which process holds one
 * end of a connection (e.g. that PostgreSQL's client is the sshd session of a tunnel).
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** One end of a TCP connection. */
export interface Endpoint {
  address: string;
  port: number;
}

const sameEndpoint = (a: Endpoint, b: Endpoint) => a.address === b.address && a.port === b.port;

interface TcpEntry {
  local: Endpoint;
  remote: Endpoint;
  state: string;
  inode: string;
}

// /proc/net/tcp writes an IPv4 address as 8 hex digits in host (little-endian) order, then :port in hex.
function parseEndpoint(hex: string): Endpoint {
  const [a, p] = hex.split(':');
  const bytes = [0, 2, 4, 6].map((i) => parseInt(a.slice(i, i + 2), 16)).reverse();
  return { address: bytes.join('.'), port: parseInt(p, 16) };
}

export function tcpEntries(): TcpEntry[] {
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length > 9)
    .map((f) => ({ local: parseEndpoint(f[1]), remote: parseEndpoint(f[2]), state: f[3], inode: f[9] }));
}

const ESTABLISHED = '01';

/** Established connections whose server end is address:port (one per client connection). */
export function establishedTo(address: string, port: number): number {
  return tcpEntries().filter((e) => e.state === ESTABLISHED && sameEndpoint(e.local, { address, port })).length;
}

/**
 * The pid and command name of the process holding the socket of the connection from `local` to
 * `remote`. Both ends are matched, and only a socket some process holds (a non-zero inode): the same
 * local port may also appear in a closed connection to another server (TIME_WAIT, inode 0), which a
 * match on the local end alone could pick first.
 */
export function ownerOf(local: Endpoint, remote: Endpoint): { pid: number; comm: string } | undefined {
  const entry = tcpEntries().find((e) => e.inode !== '0' && sameEndpoint(e.local, local) && sameEndpoint(e.remote, remote));
  if (!entry) return undefined;
  const wanted = `socket:[${entry.inode}]`;
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === wanted) return { pid: Number(pid), comm: readFileSync(`/proc/${pid}/comm`, 'utf8').trim() };
      } catch {
        // The fd closed meanwhile.
      }
    }
  }
  return undefined;
}
