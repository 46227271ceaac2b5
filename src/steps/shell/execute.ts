/** Running a `shell` step: locally through the process tracker, or on a host through its ssh connection. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { StepFailure, type StepContext } from '../types.js';
import type { ShellBody } from './index.js';
import { localTransport, SpawnError } from '../../transport/local/index.js';
import type { ProcessOutcome } from '../../transport/types.js';
import { ConnectionLost } from '../../transport/ssh/pool.js';
import { RemoteKillError } from '../../transport/ssh/transport.js';
import { RUN_ID_ENV, STEP_ID_ENV } from '../../interpreter/orphans.js';

export { KILL_GRACE_MS, OUTPUT_TAIL_BYTES, PIPE_DRAIN_MS, killAllTrees as killAllShellGroups, listTrees as listShellGroups } from '../../transport/local/index.js';

export async function executeShell(body: ShellBody, ctx: StepContext): Promise<Record<string, unknown>> {
  // --norc: Node's stdin pipe is a socket, and Debian's bash then believes it runs under sshd and sources ~/.bashrc.
  const [file, args] =
    body.run !== undefined ? ['bash', ['--norc', '-eo', 'pipefail', '-c', body.run]] : [body.command![0], body.command!.slice(1)];
  const remote = ctx.remote;
  // On a host (spec §9): its login environment plus the step's own variables (the values of
  // `${{ }}` among them) and the run's marks, never this machine's environment; cwd as written
  // (a path on the host), else the login's home.
  const cwd = remote ? body.cwd : resolve(ctx.baseDir, body.cwd ?? '.');
  const env: NodeJS.ProcessEnv = remote ? remoteEnv(ctx.env) : { ...ctx.env };
  for (const [k, v] of Object.entries(body.env ?? {})) env[k] = String(v);
  if (ctx.signal.aborted) throw new StepFailure(`cancelled (${describeReason(ctx.signal.reason)}) before it started`, undefined, 'STEP_CANCELLED');
  let outcome: ProcessOutcome;
  try {
    outcome = await (remote?.transport ?? localTransport).run({
      file,
      args,
      cwd,
      env,
      stdin: body.stdin,
      signal: ctx.signal,
      onOutput: (s, t) => ctx.output(s, t),
      detach: body.detach === true,
      runId: ctx.runId,
      step: ctx.stepId,
    });
  } catch (error) {
    if (remote) throw describeRemoteError(error, remote.host.name);
    throw describeSpawnError(error, file, cwd ?? '.');
  }
  const result = toResult(outcome);
  if (outcome.leftovers) {
    ctx.output('info', `stopped ${outcome.leftovers.length} process(es) still running at the step's end (use shell.detach for a service): ${outcome.leftovers.map((p) => `${p.pid} ${p.command}`).join(', ')}\n`);
  }
  if (outcome.cancelled) {
    const how = outcome.forceKilled ? 'SIGTERM, then SIGKILL' : 'SIGTERM';
    throw new StepFailure(`cancelled (${describeReason(ctx.signal.reason)}): process group killed with ${how}`, result, 'STEP_CANCELLED');
  }
  const expected = body.expect_exit === undefined ? [0] : [body.expect_exit].flat();
  if (!expected.includes(outcome.exitCode)) {
    const lastLine = lastStderrLine(outcome.stderr);
    const killed = outcome.signal === undefined ? '' : ` (killed by ${outcome.signal})`;
    throw new StepFailure(`exit code ${outcome.exitCode}${killed} (expected ${expected.join(' or ')})${lastLine ? `: ${lastLine}` : ''}`, result);
  }
  return result;
}

function toResult(o: ProcessOutcome): Record<string, unknown> {
  return {
    exit_code: o.exitCode,
    stdout: o.stdout,
    stderr: o.stderr,
    json: o.stdoutTruncated ? null : parseJson(o.stdout),
    ...(o.signal === undefined ? {} : { signal: o.signal }),
    ...(o.detached === undefined ? {} : { detached: o.detached }),
  };
}

function parseJson(text: string): unknown {
  const trimmed = text.trim();
  if (trimmed === '') return null;
  try {
    return JSON.parse(trimmed);
  } catch {
    return null;
  }
}

function lastStderrLine(stderr: string): string {
  const lines = stderr.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) if (lines[i].trim() !== '') return lines[i].trim();
  return '';
}

function describeSpawnError(error: unknown, file: string, cwd: string): Error {
  if (!(error instanceof SpawnError)) return error instanceof Error ? error : new Error(String(error));
  // Node reports a missing cwd as ENOENT of the program, which sends people looking for the wrong thing.
  if (error.errno === 'ENOENT' && !existsSync(cwd)) return new StepFailure(`cannot start ${file}: cwd ${cwd} does not exist`, undefined, 'SPAWN_FAILED');
  if (error.errno === 'ENOENT') return new StepFailure(`cannot start ${file}: command not found`, undefined, 'SPAWN_FAILED');
  if (error.errno === 'EACCES') return new StepFailure(`cannot start ${file}: permission denied`, undefined, 'SPAWN_FAILED');
  return new StepFailure(`cannot start ${file}: ${error.message}`, undefined, 'SPAWN_FAILED');
}

/** The run's marks (RUNBOOK_RUN_ID, RUNBOOK_STEP_ID) out of this machine's environment: all a host gets of it. */
function remoteEnv(local: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const k of [RUN_ID_ENV, STEP_ID_ENV]) if (local[k] !== undefined) out[k] = local[k];
  return out;
}

/** A lost connection or a kill that did not take, named with the host. */
function describeRemoteError(error: unknown, host: string): Error {
  if (error instanceof ConnectionLost) return new StepFailure(error.message, undefined, 'CONNECTION_LOST');
  if (error instanceof RemoteKillError) return new StepFailure(error.message, undefined, 'REMOTE_KILL');
  const msg = error instanceof Error ? error.message : String(error);
  return new StepFailure(msg.includes(host) ? msg : `${host}: ${msg}`, undefined, (error as { code?: string }).code ?? 'SSH');
}

function describeReason(reason: unknown): string {
  if (reason instanceof Error && reason.name !== 'AbortError') return reason.message;
  if (typeof reason === 'string') return reason;
  return 'aborted';
}
