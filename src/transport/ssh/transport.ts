/**
 * The remote `Transport` (src/transport/types.ts): one command of one instance on one host, run
 * under the wrapper (./wrapper.ts) on the host's pooled connection. Same outcome shape as local:
 * exit code (128 + n for a signal), output tails, `cancelled` when the signal fired — and then the
 * remote tree is killed and checked gone before `run` returns. A dead connection rejects with
 * `ConnectionLost`, and its remote tree is killed when the host answers again.
 */
import { constants } from 'node:os';
import { StringDecoder } from 'node:string_decoder';
import type { ProcessOutcome, ProcessRequest, Transport } from '../types.js';
import { TailBuffer } from '../local/tail.js';
import { ConnectionLost, type HostConnection } from './pool.js';
import { parseRecordedState, remoteFolder, REMOTE_KILL_GRACE_S, statusCommand, WRAPPER_COMMAND, wrapperPayload, type RecordedState } from './wrapper.js';

const OUTPUT_TAIL_BYTES = 1024 * 1024;

export class RemoteKillError extends Error {
  constructor(host: string, detail: string) {
    super(`remote processes on ${host} survived the kill: ${detail}`);
    this.name = 'RemoteKillError';
  }
}

export class SshTransport implements Transport {
  readonly name: string;
  /** The instance's folder on the host, under ~/.runbook. */
  readonly folder: string;

  constructor(
    readonly conn: HostConnection,
    task: { runId: string; address: string },
  ) {
    this.name = conn.target.name;
    this.folder = remoteFolder(task.runId, task.address);
    conn.used.add(this.folder);
  }

  /** What the host recorded for this instance (resume reads this before running it again). */
  async recorded(): Promise<RecordedState> {
    const r = await this.conn.execText(statusCommand(this.folder));
    return parseRecordedState(r.stdout);
  }

  async run(req: ProcessRequest): Promise<ProcessOutcome> {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.env)) if (v !== undefined) env[k] = v;
    const payload = wrapperPayload({ folder: this.folder, cwd: req.cwd, env, argv: [req.file, ...req.args] });
    return this.conn.withSession(async () => {
      const ch = await this.conn.exec(WRAPPER_COMMAND);
      const tails = { stdout: new TailBuffer(OUTPUT_TAIL_BYTES), stderr: new TailBuffer(OUTPUT_TAIL_BYTES) };
      const decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
      const onData = (stream: 'stdout' | 'stderr') => (d: Buffer) => {
        tails[stream].push(d);
        const text = decoders[stream].write(d);
        if (text) req.onOutput(stream, text);
      };
      ch.on('data', onData('stdout'));
      ch.stderr.on('data', onData('stderr'));
      let exitCode: number | null = null;
      let exitSignal: string | undefined;
      ch.on('exit', (code: number | null, signal?: string) => {
        exitCode = code;
        exitSignal = signal ?? undefined;
      });
      let kill: Promise<{ out: string; ms: number }> | undefined;
      const startKill = () => {
        if (kill) return;
        const t0 = Date.now();
        kill = this.conn.kill(this.folder).then((out) => ({ out, ms: Date.now() - t0 }));
        kill.catch(() => {});
      };
      const onAbort = () => startKill();
      req.signal.addEventListener('abort', onAbort, { once: true });
      let offLost = () => {};
      try {
        await new Promise<void>((resolve, reject) => {
          offLost = this.conn.onLost((e) => {
            this.conn.owe(this.folder);
            reject(e);
          });
          ch.on('close', () => resolve());
          ch.write(payload);
          if (req.stdin !== undefined) ch.write(req.stdin);
          ch.end();
          if (req.signal.aborted) startKill();
        });
      } finally {
        offLost();
        req.signal.removeEventListener('abort', onAbort);
      }
      for (const s of ['stdout', 'stderr'] as const) {
        const rest = decoders[s].end();
        if (rest) req.onOutput(s, rest);
      }
      let cancelled = false;
      let forceKilled = false;
      if (kill) {
        const k = await kill;
        if (k.out.startsWith('alive')) throw new RemoteKillError(this.name, k.out);
        cancelled = true;
        forceKilled = k.ms >= REMOTE_KILL_GRACE_S * 1000;
      }
      if (exitCode === null && exitSignal === undefined && !cancelled) {
        // sshd can close a channel before it sends the exit status (when our EOF and the command's
        // end cross); the wrapper recorded the status on the host: ask it.
        const rec = await this.recorded().catch(() => undefined);
        if (rec?.state === 'finished') exitCode = rec.exitCode;
        else {
          this.conn.owe(this.folder);
          throw new ConnectionLost(this.name, 'the channel closed without an exit status');
        }
      }
      const sigNo = exitSignal ? (constants.signals as Record<string, number>)[`SIG${exitSignal}`] : undefined;
      return {
        exitCode: exitCode ?? (sigNo ? 128 + sigNo : 255),
        ...(exitSignal ? { signal: `SIG${exitSignal}` as NodeJS.Signals } : {}),
        stdout: tails.stdout.text(),
        stderr: tails.stderr.text(),
        stdoutTruncated: tails.stdout.truncated,
        cancelled,
        forceKilled,
      };
    });
  }
}
