/**
 * One subprocess in its own process group, with live output, bounded output tails and
 * cancellation of the whole group.
 *
 * This module owns termination: the child leads its own group (`detached`), an abort sends SIGTERM
 * to the group and SIGKILL after `KILL_GRACE_MS`, and once the leader has exited we stop waiting for
 * pipes that a background process keeps open.
 *
 * Plain `child_process.spawn`, not execa: execa kills only the direct child and waits forever on
 * pipes a grandchild holds, so all of its output, kill and buffering logic would be bypassed anyway,
 * and its per-spawn cost alone (~6–7 ms here against ~4 ms for the spawn) broke the budget of a
 * shell step ≤ 2× a bare spawn (bench/shell-spawn.mjs).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';
import { TailBuffer } from './tail.js';

/** Time between SIGTERM and SIGKILL of a cancelled process group. */
export const KILL_GRACE_MS = 2000;
/** How long to keep reading the pipes after the leader exited, when a background process still holds them. */
export const PIPE_DRAIN_MS = 250;
/** Bytes of stdout and of stderr kept for the result. */
export const OUTPUT_TAIL_BYTES = 1024 * 1024;

export interface ProcessRequest {
  file: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  stdin?: string;
  signal: AbortSignal;
  onOutput(stream: 'stdout' | 'stderr', text: string): void;
}

export interface ProcessOutcome {
  /** The exit code, or 128 + the signal number when the leader was killed by a signal (as bash reports it). */
  exitCode: number;
  signal?: NodeJS.Signals;
  stdout: string;
  stderr: string;
  stdoutTruncated: boolean;
  /** The run was aborted through the signal and the group was killed. */
  cancelled: boolean;
  /** Sent SIGKILL because the group outlived the grace period. */
  forceKilled: boolean;
}

/** The child could not be started (command not found, cwd missing, …). */
export class SpawnError extends Error {
  constructor(
    message: string,
    readonly errno?: string,
  ) {
    super(message);
    this.name = 'SpawnError';
  }
}

/** Process groups of steps still running or still being killed. */
const liveGroups = new Set<number>();
let exitHookInstalled = false;

/**
 * Send `signal` to every live shell process group (for the interpreter's SIGTERM/second-SIGINT
 * handling). Returns how many groups were signalled.
 */
export function killAllShellGroups(signal: NodeJS.Signals = 'SIGTERM'): number {
  let count = 0;
  for (const pgid of liveGroups) if (killGroup(pgid, signal)) count++;
  return count;
}

/** The process group ids of shell steps currently running (for diagnostics and tests). */
export function listShellGroups(): number[] {
  return [...liveGroups];
}

function killGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    // ESRCH: the group is gone. EPERM cannot happen for our own children.
    return false;
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Detached children survive us; if the interpreter dies without cancelling (a crash), do not leave them running.
  process.on('exit', () => killAllShellGroups('SIGTERM'));
}

/** Spawn `file args` as the leader of a new process group and wait until it is done (or cancelled). */
export function runProcess(req: ProcessRequest): Promise<ProcessOutcome> {
  if (req.signal.aborted) return Promise.reject(new SpawnError('not started: the step was already cancelled'));
  installExitHook();
  let child: ChildProcess;
  try {
    child = spawn(req.file, req.args, {
      cwd: req.cwd,
      env: req.env,
      detached: true,
      stdio: [req.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    return Promise.reject(new SpawnError(e.message, e.code));
  }
  const pid = child.pid;
  if (pid === undefined) {
    // ENOENT, EACCES, a missing cwd: Node reports them in an 'error' event after returning.
    return new Promise((_, reject) =>
      child.once('error', (e: NodeJS.ErrnoException) => reject(new SpawnError(e.message, e.code))),
    );
  }
  liveGroups.add(pid);
  if (child.stdin) {
    // A script that exits without reading its stdin makes this write fail with EPIPE: not our concern.
    child.stdin.on('error', () => {});
    child.stdin.end(req.stdin);
  }
  return new Promise<ProcessOutcome>((resolve) => {
    const tails = { stdout: new TailBuffer(OUTPUT_TAIL_BYTES), stderr: new TailBuffer(OUTPUT_TAIL_BYTES) };
    let openPipes = 0;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let cancelled = false;
    let forceKilled = false;
    let graceOver = false;
    let killTimer: NodeJS.Timeout | undefined;
    let drainTimer: NodeJS.Timeout | undefined;
    let settled = false;

    const watch = (name: 'stdout' | 'stderr', stream: Readable | null) => {
      if (stream === null) return;
      openPipes++;
      const decoder = new StringDecoder('utf8');
      const tail = tails[name];
      stream.on('data', (chunk: Buffer | string) => {
        const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        tail.push(bytes);
        const text = decoder.write(bytes);
        if (text !== '') req.onOutput(name, text);
      });
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        const rest = decoder.end();
        if (rest !== '') req.onOutput(name, rest);
        openPipes--;
        settleIfDone();
      };
      stream.on('end', finish);
      stream.on('close', finish);
      stream.on('error', finish);
    };

    const stopWaitingForPipes = () => {
      drainTimer = undefined;
      child.stdout?.destroy();
      child.stderr?.destroy();
    };

    const settleIfDone = () => {
      if (settled || exit === undefined) return;
      if (openPipes > 0) {
        // A cancelled group gets until its SIGKILL to close the pipes; a finished one only a short drain.
        if (drainTimer === undefined && (!cancelled || graceOver)) drainTimer = setTimeout(stopWaitingForPipes, PIPE_DRAIN_MS);
        return;
      }
      settled = true;
      if (drainTimer !== undefined) clearTimeout(drainTimer);
      req.signal.removeEventListener('abort', onAbort);
      liveGroups.delete(pid);
      // A pending SIGKILL stays armed while the group may still have members (one that ignores SIGTERM
      // and closed its stdout): the step is over, its processes must not outlive the grace period.
      if (killTimer !== undefined && !killGroup(pid, 0)) {
        clearTimeout(killTimer);
        killTimer = undefined;
      }
      const signal = exit.signal ?? undefined;
      resolve({
        exitCode: exit.code ?? 128 + (signal === undefined ? 0 : (constants.signals[signal] ?? 0)),
        ...(signal === undefined ? {} : { signal }),
        stdout: tails.stdout.text(),
        stderr: tails.stderr.text(),
        stdoutTruncated: tails.stdout.truncated,
        cancelled,
        forceKilled,
      });
    };

    const onAbort = () => {
      if (cancelled || settled) return;
      cancelled = true;
      killGroup(pid, 'SIGTERM');
      killTimer = setTimeout(() => {
        killTimer = undefined;
        graceOver = true;
        forceKilled = killGroup(pid, 'SIGKILL');
        liveGroups.delete(pid);
        settleIfDone();
      }, KILL_GRACE_MS);
    };

    watch('stdout', child.stdout);
    watch('stderr', child.stderr);
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      settleIfDone();
    });
    req.signal.addEventListener('abort', onAbort, { once: true });
  });
}
