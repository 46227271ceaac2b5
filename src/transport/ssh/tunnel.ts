/**
 * A connection through an SSH host (`postgres.via`, Docker's socket on a host): a socket-like Duplex
 * that `pg` can use as its `stream` and undici as its socket — `connect(port, host)` opens a
 * `direct-tcpip` channel on the host's pooled connection (`connect(path)`, as pg does for a unix
 * socket, a `direct-streamlocal` one) and pipes through it. No new ssh connection per tunnel: every
 * channel rides on the host's one connection. When that connection dies, the tunnel fails with its
 * ConnectionLost (host and reason), not with a bare "closed".
 */
import { Duplex } from 'node:stream';
import type { HostConnection } from './pool.js';
import { forwardOut, forwardOutStreamLocal, type SshTarget } from './connect.js';

/** Opening the channel failed; `reason` is what the host or the ssh connection said. */
export class TunnelError extends Error {
  readonly code = 'SSH_TUNNEL';
  constructor(
    readonly to: string,
    readonly host: string,
    readonly reason: string,
  ) {
    super(`tunnel to ${to} via ${host}: ${reason}`);
    this.name = 'TunnelError';
  }
}

export class TunnelSocket extends Duplex {
  private channel?: Duplex;
  private pending: { chunk: Buffer; cb: (e?: Error | null) => void }[] = [];

  constructor(private readonly conn: HostConnection) {
    super();
  }

  connect(port: number | string, host?: string): this {
    const path = typeof port === 'string' && host === undefined ? port : undefined;
    const to = path ?? `${host}:${port}`;
    this.conn
      .withClient((c) => (path !== undefined ? forwardOutStreamLocal(c, path) : forwardOut(c, host ?? 'localhost', Number(port))))
      .then((ch) => {
        this.channel = ch;
        // A dead connection closes its channels without saying why: the pool's ConnectionLost does
        // (host and reason). The channel's own close and error wait a turn, so that it comes first.
        const off = this.conn.onLost((e) => this.destroy(e));
        this.once('close', off);
        ch.on('data', (d: Buffer) => {
          if (!this.push(d)) ch.pause();
        });
        ch.on('end', () => this.push(null));
        ch.on('close', () => setImmediate(() => this.destroy()));
        ch.on('error', (e: Error) => setImmediate(() => this.destroy(e)));
        for (const p of this.pending.splice(0)) ch.write(p.chunk, p.cb);
        this.emit('connect');
      })
      .catch((e: Error) => this.destroy(new TunnelError(to, this.conn.target.name, channelFailure(e, this.conn.target, to))));
    return this;
  }

  override _read(): void {
    this.channel?.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    if (this.channel) this.channel.write(chunk, cb);
    else this.pending.push({ chunk, cb });
  }

  override _final(cb: (e?: Error | null) => void): void {
    this.channel?.end();
    cb();
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    this.channel?.destroy();
    cb(err);
  }

  // What pg and undici call on a net.Socket; meaningless on a channel.
  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
  setTimeout(): this {
    return this;
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
}

/**
 * ssh2's "(SSH) Channel open failure: …" is the host's answer: say that the host could not open
 * `to` (OpenSSH says only "open failed" for a unix socket that is missing or not the user's to use).
 * Any other error (the connection itself) is already a sentence naming the host.
 */
export function channelFailure(e: Error, host: Pick<SshTarget, 'name' | 'user'>, to: string): string {
  const m = /Channel open failure:?\s*(.*)$/i.exec(e.message);
  if (!m) return e.message;
  const why = m[1]?.trim() ?? '';
  const hint = to.startsWith('/') ? `: no such socket there, or ${host.user} may not use it` : '';
  return `${host.name} could not open ${to}${why ? ` (${why})` : ''}${hint}`;
}
