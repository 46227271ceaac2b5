/**
 * The s3 step's work runs in a thread of its own (./worker.ts): the AWS SDK, its requests and a
 * transfer's streams and sha256 are off the interpreter's thread, which runs the other steps of the
 * phase meanwhile (a drill's detection: its SQL, HTTP and notifications beside the backup's download).
 * One thread per process, started on the first use (or ahead of it: `startS3Thread`), holding one
 * SDK client per connection.
 */
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SHARE_ENV, Worker } from 'node:worker_threads';
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import type { S3Body } from './schema.js';
import { listSettings, transferSettings } from './settings.js';
import { StepFailure } from '../types.js';
import { builtModule } from '../../util/built-module.js';

export type ToThread =
  | {
      t: 'exec';
      id: number;
      conn: string;
      /** The SDK client's settings for this connection, resolved once when it was opened. */
      clientConfig: S3ClientConfig;
      body: S3Body;
      bucket: string;
      baseDir: string;
      /** This thread's tuning (./settings.ts: tests lower the part and page sizes), for the thread's own copy. */
      settings: { transfer: typeof transferSettings; list: typeof listSettings };
    }
  | { t: 'abort'; id: number }
  | { t: 'close'; conn: string }
  | { t: 'stop' };
type FromThread =
  | { t: 'progress'; id: number; p: unknown }
  /** A file the step writes before renaming it into place (a get's `.part`): removed here if the thread dies. */
  | { t: 'partial'; id: number; path: string }
  | { t: 'done'; id: number; result: Record<string, unknown> }
  | { t: 'failed'; id: number; message: string; result?: Record<string, unknown>; code?: string }
  | { t: 'aborted'; id: number }
  | { t: 'stopped' };

interface Pending {
  resolve(r: Record<string, unknown>): void;
  reject(e: unknown): void;
  progress(p: unknown): void;
  partials: string[];
  /** The thread running it: only its own death fails it. */
  thread: Worker;
}

let worker: Worker | undefined;
const pending = new Map<number, Pending>();
let nextId = 1;

/** The compiled worker beside this module; from the sources (vitest), the one in dist/. */
function workerFile(): string {
  const file = builtModule(import.meta.url, 'worker.js');
  if (file) return file;
  throw new StepFailure(`the s3 step's worker is missing (${fileURLToPath(new URL('worker.js', import.meta.url))}): build with npm run build`);
}

/** The thread the launcher started ahead (bin/runbook.cjs, `run` of a runbook that mentions s3), taken over once. */
function takeLauncherThread(): Worker | undefined {
  const g = globalThis as Record<symbol, unknown>;
  const started = g[Symbol.for('runbook.s3Thread')] as Worker | undefined;
  delete g[Symbol.for('runbook.s3Thread')];
  return started;
}

function settle(id: number): Pending | undefined {
  const p = pending.get(id);
  pending.delete(id);
  if (pending.size === 0) worker?.unref();
  return p;
}

/** `RUNBOOK_S3_THREAD=0`: the s3 steps run on the interpreter's thread, as before the thread (for a comparison). */
export function s3ThreadDisabled(): boolean {
  return process.env.RUNBOOK_S3_THREAD === '0';
}

/** Start the thread now (it loads the AWS SDK), so that the first s3 step finds it ready. */
export function startS3Thread(): Worker {
  if (worker) return worker;
  // The bundled CLI (bin/runbook.cjs) starts its threads through its launcher, which runs the thread's
  // bundle through a code cache; from dist/src (a tsc-only build, the tests) the module itself. None
  // takes the process's node options (a thread would inherit them: `--input-type`, say, stops it).
  const startThread = (globalThis as Record<symbol, unknown>)[Symbol.for('runbook.startThread')] as ((bundle: string) => Worker) | undefined;
  const w = takeLauncherThread() ?? startThread?.('s3-thread') ?? new Worker(workerFile(), { env: SHARE_ENV, execArgv: [] });
  w.unref();
  w.on('message', (m: FromThread) => {
    if (m.t === 'stopped') return;
    if (m.t === 'progress') return pending.get(m.id)?.progress(m.p);
    if (m.t === 'partial') return void pending.get(m.id)?.partials.push(m.path);
    const p = settle(m.id);
    if (!p) return;
    if (m.t === 'done') p.resolve(m.result);
    else if (m.t === 'failed') p.reject(new StepFailure(m.message, m.result, m.code));
    else p.reject(new Error('aborted'));
  });
  const fail = (err: Error) => {
    if (worker === w) worker = undefined;
    for (const [id, { thread }] of [...pending]) {
      // A thread stopped after a run exits later: the steps of the thread started since are not its.
      if (thread !== w) continue;
      const p = settle(id)!;
      // What the thread was writing stays unfinished: nothing half-written is left behind.
      for (const file of p.partials) rmSync(file, { force: true });
      p.reject(new StepFailure(`the s3 thread failed: ${err.message}`));
    }
  };
  w.on('error', fail);
  w.on('exit', (code) => fail(new Error(`it exited (${code})`)));
  worker = w;
  return w;
}

/** Run one s3 action in the thread; `signal` aborts it (the thread cleans up before this rejects). */
export function runInS3Thread(
  req: Omit<Extract<ToThread, { t: 'exec' }>, 't' | 'id' | 'settings'>,
  signal: AbortSignal,
  progress: (p: unknown) => void,
): Promise<Record<string, unknown>> {
  if (signal.aborted) return Promise.reject(signal.reason);
  const w = startS3Thread();
  const id = nextId++;
  const settings = { transfer: { ...transferSettings }, list: { ...listSettings } };
  return new Promise((resolve, reject) => {
    if (pending.size === 0) w.ref();
    const onAbort = () => w.postMessage({ t: 'abort', id } satisfies ToThread);
    pending.set(id, {
      resolve: (r) => (signal.removeEventListener('abort', onAbort), resolve(r)),
      reject: (e) => (signal.removeEventListener('abort', onAbort), reject(e)),
      progress,
      partials: [],
      thread: w,
    });
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      w.postMessage({ t: 'exec', id, ...req, settings } satisfies ToThread);
    } catch (err) {
      // What cannot be copied to the thread (nothing a runbook can write; a guard, so that no request waits forever).
      settle(id)?.reject(new StepFailure(`s3 ${req.body.action}: cannot hand the step to the s3 thread: ${(err as Error).message}`));
    }
  });
}

/** The thread now running, if any (tests stop it to see a failure of the thread handled). */
export function currentS3Thread(): Worker | undefined {
  return worker;
}

/**
 * End the thread (the CLI, once the run is over): it writes its bundle's code cache when there was
 * none (the launcher's, bin/runbook.cjs), then stops. Bounded: a thread that does not answer within
 * `timeoutMs` is stopped anyway.
 */
export async function stopS3Thread(timeoutMs = 2000): Promise<void> {
  const w = worker ?? takeLauncherThread();
  worker = undefined;
  if (!w) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    const done = () => (clearTimeout(timer), resolve());
    w.on('message', (m: FromThread) => m.t === 'stopped' && done());
    w.once('exit', done);
    w.postMessage({ t: 'stop' } satisfies ToThread);
  });
  // Not awaited: the thread has nothing left to do, and it ends with the process at the latest.
  void w.terminate();
}

/** Drop the thread's client of a connection. */
export function closeInS3Thread(conn: string): void {
  worker?.postMessage({ t: 'close', conn } satisfies ToThread);
}
