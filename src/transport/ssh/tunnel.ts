/**
 * A TCP connection through an SSH host (`postgres.via`): a socket-like Duplex that `pg` can use
 * as its `stream` — `connect(port, host)` opens a `direct-tcpip` channel on the host's pooled
 * connection and pipes through it.
 */
import { Duplex } from 'node:stream';
import type { HostConnection } from './pool.js';
import { forwardOut } from './connect.js';

export class TunnelSocket extends Duplex {
  private channel?: Duplex;
  private pending: { chunk: Buffer; cb: (e?: Error | null) => void }[] = [];

  constructor(private readonly conn: HostConnection) {
    super();
  }

  connect(port: number, host: string): this {
    this.conn
      .withClient((c) => forwardOut(c, host, port))
      .then((ch) => {
        this.channel = ch;
        ch.on('data', (d: Buffer) => {
          if (!this.push(d)) ch.pause();
        });
        ch.on('end', () => this.push(null));
        ch.on('close', () => this.destroy());
        ch.on('error', (e: Error) => this.destroy(e));
        for (const p of this.pending.splice(0)) ch.write(p.chunk, p.cb);
        this.emit('connect');
      })
      .catch((e: Error) => this.destroy(new Error(`tunnel to ${host}:${port} via ${this.conn.target.name}: ${e.message}`)));
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
