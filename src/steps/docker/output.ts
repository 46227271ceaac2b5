/**
 * Actions that read a container's output: `logs` (the last lines) and `exec` (a command inside it).
 * Output is streamed to the step's live output as it arrives and kept (the last 1 MiB) for the result.
 */
import { DockerApiError, type DockerClient } from './client.js';
import { createDemuxer, KEEP_BYTES } from './frames.js';
import type { DockerBody } from './schema.js';
import { currentState } from './lifecycle.js';
import { sleep } from '../../interpreter/timers.js';
import { resolveTargets, summarize, type ContainerInspect } from './targets.js';
import { StepFailure, type StepContext } from '../types.js';

/** The last `tail` lines of every target container's log (stdout and stderr in arrival order). */
export async function logsAction(client: DockerClient, body: DockerBody, ctx: StepContext): Promise<Record<string, unknown>> {
  const targets = await resolveTargets(client, body, ctx.signal);
  const several = targets.length > 1;
  const parts: string[] = [];
  for (const c of targets) {
    const name = summarize(c).name;
    if (several) ctx.output('info', `== ${name} ==\n`);
    let text = '';
    const demux = createDemuxer(c.Config?.Tty === true, (stream, chunk) => {
      // Both streams in arrival order, bounded: the last KEEP_BYTES characters are kept.
      text += chunk;
      if (text.length > 2 * KEEP_BYTES) text = text.slice(-KEEP_BYTES);
      ctx.output(stream, chunk);
    });
    await client.stream('GET', `/containers/${c.Id}/logs`, (chunk) => demux.push(chunk), {
      query: { stdout: 1, stderr: 1, tail: body.tail ?? 100 },
      signal: ctx.signal,
    });
    demux.end();
    if (text.length > KEEP_BYTES) text = text.slice(-KEEP_BYTES);
    // With several containers, mark each line with its container, as `docker compose logs` does.
    parts.push(several ? text.replace(/^(?=.)/gm, `${name} | `) : text);
  }
  return { logs: parts.join(''), containers: targets.map(summarize) };
}

/** The command as an argv: a string goes through `sh -c`. */
export function toArgv(cmd: string | string[]): string[] {
  return typeof cmd === 'string' ? ['sh', '-c', cmd] : cmd;
}

/** `env` as the Engine API wants it: `KEY=value` strings. */
export function toEnvList(env: DockerBody['env']): string[] | undefined {
  return env === undefined ? undefined : Object.entries(env).map(([k, v]) => `${k}=${String(v)}`);
}

export function expectedExits(body: DockerBody): number[] {
  return body.expect_exit === undefined ? [0] : [body.expect_exit].flat();
}

interface ExecOutcome {
  container: string;
  exit_code: number;
  stdout: string;
  stderr: string;
}

/** Run `cmd` in every target container (one after the other); fails when an exit code is not expected. */
export async function execAction(client: DockerClient, body: DockerBody, ctx: StepContext): Promise<Record<string, unknown>> {
  const targets = await resolveTargets(client, body, ctx.signal);
  const several = targets.length > 1;
  const execs: ExecOutcome[] = [];
  for (const c of targets) {
    if (several) ctx.output('info', `== ${summarize(c).name} ==\n`);
    execs.push(await execIn(client, c, body, ctx));
  }
  const expected = expectedExits(body);
  const failedExec = execs.find((e) => !expected.includes(e.exit_code));
  const result = {
    exit_code: (failedExec ?? execs[0]).exit_code,
    stdout: execs.map((e) => e.stdout).join(''),
    stderr: execs.map((e) => e.stderr).join(''),
    execs,
    containers: await currentState(client, targets, ctx.signal),
  };
  if (failedExec) {
    const lastLine = failedExec.stderr.trimEnd().split('\n').pop();
    throw new StepFailure(
      `docker exec in ${failedExec.container}: exit code ${failedExec.exit_code} (expected ${expected.join(' or ')})${lastLine ? `: ${lastLine}` : ''}`,
      result,
    );
  }
  return result;
}

async function execIn(client: DockerClient, c: ContainerInspect, body: DockerBody, ctx: StepContext): Promise<ExecOutcome> {
  const name = summarize(c).name;
  const created = await client.request('POST', `/containers/${c.Id}/exec`, {
    body: {
      Cmd: toArgv(body.cmd ?? []),
      Env: toEnvList(body.env),
      WorkingDir: body.workdir,
      User: body.user,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
    },
    signal: ctx.signal,
  });
  if (created.status !== 201) throw new DockerApiError(created.status, created.text, `exec in ${name}`);
  const execId = (created.json as { Id: string }).Id;
  const demux = createDemuxer(false, (stream, text) => ctx.output(stream, text));
  // The command is not stopped on abort: the Engine API has no call to kill an exec'd process.
  await client.stream('POST', `/exec/${execId}/start`, (chunk) => demux.push(chunk), {
    body: { Detach: false, Tty: false },
    signal: ctx.signal,
  });
  const { stdout, stderr } = demux.end();
  return { container: name, exit_code: await execExitCode(client, execId, name, ctx.signal), stdout, stderr };
}

/** The exec's exit code; the daemon may record it a moment after the output stream closed. */
async function execExitCode(client: DockerClient, execId: string, name: string, signal: AbortSignal): Promise<number> {
  for (let i = 0; ; i++) {
    const res = await client.request('GET', `/exec/${execId}/json`, { signal });
    if (res.status !== 200) throw new DockerApiError(res.status, res.text, `inspect exec in ${name}`);
    const info = res.json as { ExitCode?: number | null; Running?: boolean };
    if (!info.Running && typeof info.ExitCode === 'number') return info.ExitCode;
    if (i >= 40) return -1;
    await sleep(50, signal);
  }
}
