/**
 * A failing terminal never stops a run (spec §12): a closed or full stdout (EPIPE, ENOSPC, EIO after
 * an SSH drop) and SIGHUP leave the run going, journaled, and `runbook attach` shows it again.
 * The views write through `out`; once stdout fails they stop writing, and one line on stderr says so.
 */
export interface Terminal {
  /** Write to stdout unless it has failed. */
  write(text: string): void;
  readonly stdoutBroken: boolean;
  /** Stop listening (the command is over). */
  dispose(): void;
}

export function guardTerminal(runId: () => string, opts: { onHangup?: () => void } = {}): Terminal {
  let broken = false;
  let told = false;
  const note = (text: string) => {
    try {
      if (!process.stderr.destroyed) process.stderr.write(`runbook: ${text}\n`);
    } catch {
      // stderr is gone too: the journal still has everything
    }
  };
  const onStdoutError = (e: NodeJS.ErrnoException) => {
    broken = true;
    if (told) return;
    told = true;
    note(`stdout failed (${e.code ?? e.message}): the run goes on, journaled; follow it with runbook attach ${runId()}`);
  };
  const onStderrError = () => {};
  const onHup = () => {
    broken = true;
    opts.onHangup?.();
    if (told) return;
    told = true;
    note(`the terminal hung up (SIGHUP): the run goes on without it, journaled; follow it with runbook attach ${runId()}`);
  };
  process.stdout.on('error', onStdoutError);
  process.stderr.on('error', onStderrError);
  // After a hang-up the terminal's stdin fails too (EIO): that is no reason to stop either.
  process.stdin.on('error', onStderrError);
  process.on('SIGHUP', onHup);
  return {
    write(text) {
      if (broken || process.stdout.destroyed) return;
      try {
        process.stdout.write(text);
      } catch (e) {
        onStdoutError(e as NodeJS.ErrnoException);
      }
    },
    get stdoutBroken() {
      return broken;
    },
    dispose() {
      process.off('SIGHUP', onHup);
      // The error listeners stay: a late EPIPE while exiting must not become a stack trace.
    },
  };
}
