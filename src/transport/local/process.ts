/**
 * One local command and every process it starts: live output, bounded output tails, and an end
 * that leaves nothing behind (spec §12 "Processes").
 *
 * The process tree is tracked by the kernel (`./track.ts`: a cgroup v2 per command, entered before
 * the program runs), else by its process group (`./tree.ts`). An abort sends SIGTERM to every member
 * and SIGKILL after `KILL_GRACE_MS`; when the command itself exits, whatever it left running is
 * stopped the same way (unless `detach`), and only then does the step end. Once the tree is gone we
 * stop waiting for pipes that a process outside it (a detached service) still holds.
 *
 * Plain `child_process.spawn`, not execa: execa kills only the direct child and waits forever on
 * pipes a grandchild holds, so all of its output, kill and buffering logic would be bypassed anyway,
 * and its per-spawn cost broke the budget of a shell step ≤ 2× a bare spawn (bench/shell-spawn.mjs).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';
import type { ProcessOutcome, ProcessRequest } from '../types.js';
import { TailBuffer } from './tail.js';
import { StepGroup, trackingRoot } from './track.js';
import { cgroupTree, processGroupTree, type Tree } from './tree.js';
import { ProgramError, resolveProgram } from './program.js';

/** Time between SIGTERM and SIGKILL of a cancelled process tree. */
export const KILL_GRACE_MS = 2000;
/** How long to keep reading the pipes once the tree is gone, when a process outside it still holds them. */
export const PIPE_DRAIN_MS = 250;
/** Bytes of stdout and of stderr kept for the result. */
export const OUTPUT_TAIL_BYTES = 1024 * 1024;

// The wrapper enters the cgroup ($0 is its cgroup.procs) and only then execs the program (same pid),
// so even a fork in the program's first instruction happens inside the group.
const ENTER_CGROUP = `{ echo $$ > "$0"; } 2>/dev/null || { echo "runbook: cannot enter the cgroup $0" >&2; exit 125; }; exec "$@"`;

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

/** Trees of commands still running or still being stopped, by the pid of the command. */
const live = new Map<number, Tree>();
let exitHookInstalled = false;

/** Signal every live command's whole tree (the interpreter's last resort at its end). Returns how many trees. */
export function killAllTrees(signal: NodeJS.Signals = 'SIGTERM'): number {
  let count = 0;
  for (const tree of live.values()) {
    if (!tree.alive()) continue;
    if (signal === 'SIGKILL') tree.kill();
    else tree.signal(signal);
    count++;
  }
  return count;
}

/** The pids of the commands currently running (for diagnostics and tests). */
export function listTrees(): number[] {
  return [...live.keys()];
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // If the interpreter exits without stopping its steps (a crash), do not leave them running.
  process.on('exit', () => killAllTrees('SIGKILL'));
}

/** Run `file args` with its whole process tree tracked, until it and everything it started are done (or cancelled). */
export async function runProcess(req: ProcessRequest): Promise<ProcessOutcome> {
  if (req.signal.aborted) throw new SpawnError('not started: the step was already cancelled');
  installExitHook();
  const cwd = req.cwd ?? process.cwd();
  try {
    // Checked here, since a wrapper cannot report it as a spawn error; the wrapper still execs `file` (argv[0] unchanged).
    resolveProgram(req.file, req.env.PATH, cwd);
  } catch (e) {
    throw new SpawnError((e as Error).message, (e as ProgramError).code);
  }
  const root = trackingRoot();
  const group = root === undefined ? undefined : await StepGroup.create(root, req.runId ?? 'unnamed', req.step ?? 'process');
  if (req.signal.aborted) {
    group?.removeLater();
    throw new SpawnError('not started: the step was already cancelled');
  }
  const stdio: ('ignore' | 'pipe')[] = [req.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'];
  let child: ChildProcess;
  try {
    // Its own process group too: a terminal's Ctrl-C reaches the interpreter, which decides.
    child = group
      ? spawn('/bin/sh', ['-c', ENTER_CGROUP, group.procsFile, req.file, ...req.args], { cwd, env: req.env, detached: true, stdio })
      : spawn(req.file, req.args, { cwd, env: req.env, detached: true, stdio });
  } catch (error) {
    group?.remove();
    const e = error as NodeJS.ErrnoException;
    throw new SpawnError(e.message, e.code);
  }
  const pid = child.pid;
  if (pid === undefined) {
    group?.remove();
    // A missing cwd: Node reports it in an 'error' event after returning.
    const e = await new Promise<NodeJS.ErrnoException>((resolve) => child.once('error', resolve));
    throw new SpawnError(e.message.replace('/bin/sh', req.file), e.code);
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const tree = group ? cgroupTree(group, root!, req.runId ?? 'unnamed') : processGroupTree(pid);
  live.set(pid, tree);
  if (child.stdin) {
    // A script that exits without reading its stdin makes this write fail with EPIPE: not our concern.
    child.stdin.on('error', () => {});
    child.stdin.end(req.stdin);
  }
  const tails = { stdout: new TailBuffer(OUTPUT_TAIL_BYTES), stderr: new TailBuffer(OUTPUT_TAIL_BYTES) };
  const pipes = [watch(req, 'stdout', child.stdout, tails.stdout), watch(req, 'stderr', child.stderr, tails.stderr)];

  let cancelled = false;
  let forceKilled = false;
  let termination: Promise<void> | undefined;
  const terminate = () =>
    (termination ??= (async () => {
      tree.signal('SIGTERM');
      if (await tree.waitEmpty(KILL_GRACE_MS)) return;
      forceKilled = tree.alive();
      tree.kill();
      await tree.waitEmpty(KILL_GRACE_MS);
    })());
  const onAbort = () => {
    cancelled = true;
    void terminate();
  };
  req.signal.addEventListener('abort', onAbort, { once: true });

  const exit = await exited;
  let detached: number[] | undefined;
  let leftovers: ProcessOutcome['leftovers'];
  if (cancelled) await termination;
  else if (req.detach) detached = tree.detach();
  else if (tree.alive()) {
    // Nothing outlives its step (spec §12): what the command left running is stopped now.
    leftovers = tree.describe();
    await terminate();
  }
  req.signal.removeEventListener('abort', onAbort);
  // The tree is gone; a pipe still open is held by a detached service: read a little more, then let go.
  if (!(await within(Promise.all(pipes), PIPE_DRAIN_MS))) {
    child.stdout?.destroy();
    child.stderr?.destroy();
    await Promise.all(pipes);
  }
  live.delete(pid);
  tree.release();
  const signal = exit.signal ?? undefined;
  return {
    exitCode: exit.code ?? 128 + (signal === undefined ? 0 : (constants.signals[signal] ?? 0)),
    ...(signal === undefined ? {} : { signal }),
    stdout: tails.stdout.text(),
    stderr: tails.stderr.text(),
    stdoutTruncated: tails.stdout.truncated,
    cancelled,
    forceKilled,
    ...(detached ? { detached } : {}),
    ...(leftovers?.length ? { leftovers } : {}),
  };
}

/** Stream one pipe to the live output and its tail; resolves when it is closed. */
function watch(req: ProcessRequest, name: 'stdout' | 'stderr', stream: Readable | null, tail: TailBuffer): Promise<void> {
  if (stream === null) return Promise.resolve();
  const decoder = new StringDecoder('utf8');
  stream.on('data', (chunk: Buffer | string) => {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    tail.push(bytes);
    const text = decoder.write(bytes);
    if (text !== '') req.onOutput(name, text);
  });
  return new Promise((resolve) => {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      const rest = decoder.end();
      if (rest !== '') req.onOutput(name, rest);
      resolve();
    };
    stream.on('end', finish);
    stream.on('close', finish);
    stream.on('error', finish);
  });
}

/** Whether `p` settles within `ms` (the timer does not outlive it). */
function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.then(() => true),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
  ]).finally(() => clearTimeout(timer));
}
