/**
 * Where a command runs (style: "where a command runs is a transport"). `shell` and `docker` ask a
 * transport for a process and do not care whether it is local (`child_process` + kernel process
 * tracking, `./local/`) or remote (an `ssh2` channel + a wrapper on the host, `./ssh/`). Timeouts,
 * kill, output and exit status have the same shape on both.
 */

export interface ProcessRequest {
  /** Program and arguments (for a script: `bash`, ['-eo', 'pipefail', '-c', script]). */
  file: string;
  args: string[];
  cwd?: string;
  /** Variables added to (local: the interpreter's environment; remote: the login environment). */
  env: NodeJS.ProcessEnv;
  stdin?: string;
  /** Aborting it kills the whole process tree of the command and waits until it is gone. */
  signal: AbortSignal;
  onOutput(stream: 'stdout' | 'stderr', text: string): void;
  /** `shell.detach`: processes left running on purpose at the end; their pids are reported. */
  detach?: boolean;
  /** The run and the step instance address the processes belong to (local: names the step's cgroup, so `resume` finds them). */
  runId?: string;
  step?: string;
}

export interface ProcessOutcome {
  /** The exit code, or 128 + the signal number when the leader was killed by a signal (as bash reports it). */
  exitCode: number;
  signal?: NodeJS.Signals;
  stdout: string;
  stderr: string;
  stdoutTruncated: boolean;
  /** The run was aborted through the signal and the process tree was killed. */
  cancelled: boolean;
  /** Sent SIGKILL because the tree outlived the grace period. */
  forceKilled: boolean;
  /** `detach: true`: pids left running on purpose. */
  detached?: number[];
  /** Processes still running when the command exited, stopped at the step's end (not with `detach`). */
  leftovers?: { pid: number; command: string }[];
}

export interface Transport {
  /** `local`, or the host name of a remote one. */
  readonly name: string;
  run(req: ProcessRequest): Promise<ProcessOutcome>;
}
