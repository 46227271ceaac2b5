/**
 * The `shell` step type (spec §2): a bash script (`run`, as `bash -eo pipefail -c`) or an argv list
 * (`command`, no shell), in its own process group, output streamed live and kept to the last 1 MiB.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { StepFailure, type StepContext, type StepType } from '../types.js';
import { quoteShellWord } from './quote.js';
import { localTransport, SpawnError } from '../../transport/local/index.js';
import type { ProcessOutcome } from '../../transport/types.js';
import { ConnectionLost } from '../../transport/ssh/pool.js';
import { RemoteKillError } from '../../transport/ssh/transport.js';
import { RUN_ID_ENV, STEP_ID_ENV } from '../../interpreter/orphans.js';

export { KILL_GRACE_MS, OUTPUT_TAIL_BYTES, PIPE_DRAIN_MS, killAllTrees as killAllShellGroups, listTrees as listShellGroups } from '../../transport/local/index.js';

export type ShellBody = {
  run?: string;
  command?: string[];
  env?: Record<string, string | number | boolean>;
  cwd?: string;
  stdin?: string;
  expect_exit?: number | number[];
  detach?: boolean;
};

const RENDER_WIDTH = 72;

const exitCode = { type: 'integer', minimum: 0, maximum: 255 };

const schema = {
  type: 'object',
  description: 'Run a bash script (`run`) or a program with arguments (`command`) in its own process group.',
  additionalProperties: false,
  properties: {
    run: {
      type: 'string',
      minLength: 1,
      description: 'A bash script, run as `bash -eo pipefail -c <script>`. Interpolated values reach it as environment variables, never as shell text (inside single quotes or a quoted heredoc they are a validation error).',
    },
    command: {
      type: 'array',
      minItems: 1,
      items: { type: 'string', description: 'One argument, passed literally (no shell).' },
      description: 'The program and its arguments, run without a shell.',
    },
    env: {
      type: 'object',
      description: "Variables added to the interpreter's environment for this step.",
      additionalProperties: { type: ['string', 'number', 'boolean'], description: 'The value (numbers and booleans are turned into text).' },
    },
    cwd: { type: 'string', description: "Working directory; relative to the runbook file's folder (the default)." },
    stdin: { type: 'string', description: 'Text written to the standard input (otherwise stdin is empty).' },
    detach: {
      type: 'boolean',
      description:
        'For a step that starts a service on purpose: processes still running when the script ends are left running (their pids in step.finished.detached) instead of being stopped. A timeout or abort still stops them.',
    },
    expect_exit: {
      description: 'Exit code(s) that count as success (default [0]).',
      oneOf: [
        { ...exitCode, description: 'The one exit code that counts as success.' },
        { type: 'array', minItems: 1, items: { ...exitCode, description: 'An exit code that counts as success.' }, description: 'Exit codes that count as success.' },
      ],
    },
  },
  oneOf: [
    { required: ['run'], not: { required: ['command'] }, description: 'A bash script.' },
    { required: ['command'], not: { required: ['run'] }, description: 'An argv list.' },
  ],
};

export const shellStep: StepType = {
  name: 'shell',
  description: 'Run a bash script or a command; output streamed live; result exit_code, stdout, stderr, json.',
  schema,
  sideEffects: true,
  shellQuoted: ['run'],
  render: (body) => renderShell(body as ShellBody),
  execute: (body, ctx) => executeShell(body as ShellBody, ctx),
};

/** The script's first line, or the argv shell-quoted, cut with `…` when long. */
export function renderShell(body: ShellBody): string {
  if (typeof body.run === 'string') {
    const lines = body.run.split('\n').map((l) => l.trim()).filter((l) => l !== '');
    const first = lines[0] ?? '';
    return cut(first, lines.length > 1);
  }
  if (Array.isArray(body.command)) return cut(body.command.map((a) => quoteShellWord(String(a))).join(' '), false);
  return '';
}

function cut(text: string, more: boolean): string {
  if (text.length > RENDER_WIDTH) return `${text.slice(0, RENDER_WIDTH - 1)}…`;
  return more ? `${text} …` : text;
}

async function executeShell(body: ShellBody, ctx: StepContext): Promise<Record<string, unknown>> {
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
