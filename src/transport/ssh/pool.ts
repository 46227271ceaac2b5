/**
 * One pooled ssh2 connection per host for the whole run (spec §9): opened on first use, shared by
 * every command, tunnel and Docker socket on that host, within the server's session limit (a queue
 * beyond it; a "Channel open failure" lowers the limit to what the server accepted). When the
 * connection dies, everything waiting on it fails with "connection lost", and the remote trees of
 * the commands it was running are killed as soon as the host answers again (a background
 * reconnect, also awaited — within a bound — when the run closes its connections).
 */
import type { Client as SshClient, ClientChannel } from 'ssh2';
import { connectSsh, describeTarget, forwardOut, targetKey, type SshTarget } from './connect.js';
import { forgetCommand, killCommand } from './wrapper.js';

export class ConnectionLost extends Error {
  constructor(
    readonly host: string,
    why: string,
  ) {
    super(`connection lost to ${host}: ${why}`);
    this.name = 'ConnectionLost';
  }
}

const RECONNECT_EVERY_MS = 1000;

export class HostConnection {
  private client?: SshClient;
  private connecting?: Promise<SshClient>;
  private active = 0;
  private limit: number;
  private readonly waiting: (() => void)[] = [];
  private readonly lostListeners = new Set<(e: ConnectionLost) => void>();
  /** Remote folders whose command was running when the connection died: killed on reconnect. */
  readonly pendingKills = new Set<string>();
  private reconnecting?: Promise<void>;
  private closed = false;
  /** Kill results after a reconnect, for the log and tests: folder → `gone` | `alive …` | `none`. */
  readonly killed = new Map<string, string>();

  constructor(
    readonly target: SshTarget,
    private readonly pool: SshPool,
  ) {
    this.limit = Math.max(1, target.maxSessions);
  }

  /** The instance folders (under ~/.runbook) this connection's commands used in this run. */
  readonly used = new Set<string>();

  /** Whether a connection is up now (cleaning up does not open one). */
  get connected(): boolean {
    return this.client !== undefined;
  }

  get description(): string {
    return describeTarget(this.target);
  }

  /** The live client, connecting (and through the jump host) when needed. */
  connect(): Promise<SshClient> {
    if (this.client) return Promise.resolve(this.client);
    if (this.closed) return Promise.reject(new Error(`ssh ${this.description}: the run's connections are closed`));
    this.connecting ??= this.open().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private async open(): Promise<SshClient> {
    let sock;
    if (this.target.via) {
      const jump = this.pool.host(this.target.via);
      sock = await jump.withClient((c) => forwardOut(c, this.target.host, this.target.port));
    }
    const client = await connectSsh(this.target, sock);
    let why = 'the server closed the connection';
    client.on('error', (e: Error) => {
      why = /keepalive/i.test(e.message) ? `no answer to ${3} keepalives ${this.target.keepaliveMs / 1000}s apart` : e.message;
    });
    client.on('close', () => {
      if (this.client !== client) return;
      this.client = undefined;
      const lost = new ConnectionLost(this.target.name, why);
      for (const l of [...this.lostListeners]) l(lost);
      if (this.pendingKills.size) this.reconcileSoon();
    });
    this.client = client;
    return client;
  }

  /** Calls `cb` when the connection dies; returns the unsubscribe function. */
  onLost(cb: (e: ConnectionLost) => void): () => void {
    this.lostListeners.add(cb);
    return () => this.lostListeners.delete(cb);
  }

  /** Runs `fn` with the client, failing with ConnectionLost if the connection dies meanwhile. */
  async withClient<T>(fn: (c: SshClient) => Promise<T>): Promise<T> {
    const client = await this.connect();
    let off = () => {};
    const lost = new Promise<never>((_, reject) => (off = this.onLost(reject)));
    lost.catch(() => {});
    try {
      return await Promise.race([fn(client), lost]);
    } finally {
      off();
    }
  }

  /** Takes one session slot (queued beyond the limit) for the life of `fn`. */
  async withSession<T>(fn: () => Promise<T>): Promise<T> {
    while (this.active >= this.limit) await new Promise<void>((r) => this.waiting.push(r));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }

  /**
   * Opens an exec channel; a server at its session limit makes us wait for a slot and try again.
   * `attach` gets the channel synchronously, before any of its events: a short command's success,
   * output, exit status and close can arrive in one segment and be emitted before a promise
   * continuation could add listeners.
   */
  async exec(command: string, priority = false, attach?: (ch: ClientChannel) => void): Promise<ClientChannel> {
    for (let tries = 0; ; tries++) {
      try {
        return await this.withClient(
          (c) =>
            new Promise<ClientChannel>((resolve, reject) =>
              c.exec(command, (err, ch) => {
                if (err) return reject(err);
                attach?.(ch);
                resolve(ch);
              }),
            ),
        );
      } catch (e) {
        const msg = (e as Error).message;
        if (!/Channel open failure/i.test(msg) || tries > 50) throw e;
        // The server allows fewer sessions than we thought: remember it, wait a little and retry.
        if (!priority) this.limit = Math.max(1, Math.min(this.limit, this.active - 1));
        await new Promise((r) => setTimeout(r, 20 + tries * 10));
      }
    }
  }

  /** Runs a short command to its end (not counted against the session limit: it must not wait behind the commands it kills). */
  async execText(command: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
    let stdout = '';
    let stderr = '';
    let code: number | null = null;
    let closed!: Promise<void>;
    await this.exec(command, true, (ch) => {
      ch.on('data', (d: Buffer) => (stdout += d));
      ch.stderr.on('data', (d: Buffer) => (stderr += d));
      ch.on('exit', (c: number | null) => (code = c));
      closed = new Promise((resolve) => ch.on('close', () => resolve()));
      ch.end();
    });
    await this.withClient(() => closed);
    return { code, stdout, stderr };
  }

  /** Kills the remote tree of `folder` and reports what the host says (`gone`, `none`, `alive …`). */
  async kill(folder: string): Promise<string> {
    const r = await this.execText(killCommand(folder));
    const out = r.stdout.trim();
    if (r.code !== 0 || out === '') throw new Error(`kill on ${this.target.name} failed (exit ${r.code}): ${r.stderr.trim() || out}`);
    return out;
  }

  /** Owes a kill of `folder`'s remote tree: done now if the host answers, else on reconnect. */
  owe(folder: string): void {
    this.pendingKills.add(folder);
    this.reconcileSoon();
  }

  private reconcileSoon(): void {
    this.reconnecting ??= (async () => {
      while (this.pendingKills.size && !this.closed) {
        try {
          for (const folder of [...this.pendingKills]) {
            this.killed.set(folder, await this.kill(folder));
            this.pendingKills.delete(folder);
          }
        } catch {
          await new Promise((r) => setTimeout(r, RECONNECT_EVERY_MS).unref());
        }
      }
    })().finally(() => (this.reconnecting = undefined));
  }

  /** Waits (up to `ms`) for the kills owed after a lost connection. */
  async settle(ms: number): Promise<void> {
    if (this.pendingKills.size) this.reconcileSoon();
    if (this.reconnecting) await Promise.race([this.reconnecting, new Promise((r) => setTimeout(r, ms).unref())]);
  }

  close(): void {
    this.closed = true;
    this.client?.end();
    this.client = undefined;
  }
}

/** The run's connections, one per user@address:port (and jump path). */
export class SshPool {
  private readonly hosts = new Map<string, HostConnection>();

  host(target: SshTarget): HostConnection {
    const key = targetKey(target);
    let h = this.hosts.get(key);
    if (!h) {
      h = new HostConnection(target, this);
      this.hosts.set(key, h);
    }
    return h;
  }

  /**
   * The run has ended: its records on every host it reached go (resume reads them only for a run
   * that did not end). Bounded: a host that does not answer keeps them, which is harmless.
   */
  private async forget(ms: number): Promise<void> {
    // Only the folders each connection's own commands used: hosts may share a home (NFS), and a
    // host whose kill is still owed keeps its records.
    const all = [...this.hosts.values()].filter((h) => h.connected && !h.pendingKills.size && h.used.size);
    await Promise.race([Promise.allSettled(all.map((h) => h.execText(forgetCommand([...h.used])))), new Promise((r) => setTimeout(r, ms).unref())]);
  }

  /**
   * Kills still owed after lost connections get up to `settleMs` to happen, then every connection is
   * closed. `forget`: the run has ended, so the records its commands left on the hosts go (resume
   * reads them only for a run that did not end); a host that does not answer keeps them.
   */
  async close(settleMs = 10_000, opts: { forget?: boolean } = {}): Promise<void> {
    const all = [...this.hosts.values()];
    await Promise.all(all.map((h) => h.settle(settleMs)));
    if (opts.forget) await this.forget(2000);
    for (const h of all) h.close();
    this.hosts.clear();
  }
}
