/**
 * `run`: create a container from `image`, start it, stream its output while it runs, read the exit
 * code and, once it has exited, its whole log for the result, remove it (unless `remove: false`).
 * `detach: true` returns once it has started.
 * On abort the container is killed (and removed) so nothing is left running.
 */
import { DockerApiError, type DockerClient } from './client.js';
import { createDemuxer } from './frames.js';
import { cancelCode, cancelWord } from './lifecycle.js';
import { expectedExits, toArgv, toEnvList } from './output.js';
import type { DockerBody } from './schema.js';
import { inspectContainer, summarize, type ContainerSummary } from './targets.js';
import { StepFailure, type StepContext } from '../types.js';

// Clean-up after an abort must not use the aborted signal, but must not hang either.
const CLEANUP_MS = 10_000;
/** How long a followed log may outlive its container's exit before it is read whole instead. */
export const FOLLOW_GRACE_MS = 2_000;

export async function runAction(client: DockerClient, body: DockerBody, ctx: StepContext): Promise<Record<string, unknown>> {
  const id = await createContainer(client, body, ctx.signal);
  const remove = body.remove !== false && body.detach !== true;
  let summary: ContainerSummary | undefined;
  try {
    const started = await client.request('POST', `/containers/${id}/start`, { signal: ctx.signal });
    if (started.status >= 300 && started.status !== 304) throw new DockerApiError(started.status, started.text, `start ${body.image}`);
    if (body.detach === true) {
      summary = await readSummary(client, id, ctx.signal);
      return { id, containers: [summary] };
    }
    // Output streams live from a followed log, while /wait tells when the container has exited.
    const demux = createDemuxer(false, (stream, text) => ctx.output(stream, text));
    const stopFollowing = new AbortController();
    let followEnded = false;
    const follow = client
      .stream('GET', `/containers/${id}/logs`, (chunk) => demux.push(chunk), {
        query: { follow: 1, stdout: 1, stderr: 1 },
        signal: AbortSignal.any([ctx.signal, stopFollowing.signal]),
      })
      .then(
        () => void (followEnded = true),
        (err) => {
          if (!stopFollowing.signal.aborted) throw err;
        },
      );
    // Handled here too: when /wait fails first, the follow's own failure must not go unhandled.
    follow.catch(() => undefined);
    const waited = await client.request('POST', `/containers/${id}/wait`, { signal: ctx.signal });
    if (waited.status !== 200) throw new DockerApiError(waited.status, waited.text, `wait for ${body.image}`);
    // The followed log is the live output only, not the result. Podman's can end with the container
    // before it has delivered the container's last lines (podman#10675; seen in CI as a run whose
    // stderr came back empty), and can miss that end altogether when the container exits just as the
    // follow starts (seen under load: run hung forever). So the follow gets a grace period to end, is
    // dropped if it has not, and the log, complete once the container has exited, is read once
    // without following: that is the result.
    await Promise.race([follow, new Promise((resolve) => setTimeout(resolve, FOLLOW_GRACE_MS).unref())]);
    if (!followEnded) {
      stopFollowing.abort();
      await follow;
    }
    const streamed = demux.end();
    const whole = createDemuxer(false, () => {});
    await client.stream('GET', `/containers/${id}/logs`, (chunk) => whole.push(chunk), { query: { stdout: 1, stderr: 1 }, signal: ctx.signal });
    const output = whole.end();
    // Live output gets what the follow had not delivered, so it ends complete either way.
    for (const stream of ['stdout', 'stderr'] as const) {
      const rest = output[stream].startsWith(streamed[stream]) ? output[stream].slice(streamed[stream].length) : output[stream];
      if (rest) ctx.output(stream, rest);
    }
    const { stdout, stderr } = output;
    const exitCode = (waited.json as { StatusCode: number }).StatusCode;
    summary = await readSummary(client, id, ctx.signal);
    const result = { id, exit_code: exitCode, stdout, stderr, containers: [summary] };
    const expected = expectedExits(body);
    if (!expected.includes(exitCode)) {
      const lastLine = stderr.trimEnd().split('\n').pop();
      throw new StepFailure(
        `docker run ${body.image}: exit code ${exitCode} (expected ${expected.join(' or ')})${lastLine ? `: ${lastLine}` : ''}`,
        result,
      );
    }
    return result;
  } catch (err) {
    if (!ctx.signal.aborted) throw err;
    await client.request('POST', `/containers/${id}/kill`, { signal: AbortSignal.timeout(CLEANUP_MS) }).catch(() => undefined);
    throw new StepFailure(
      `docker run ${body.image}: ${cancelWord(ctx.signal)}; container ${id.slice(0, 12)} killed${remove ? ' and removed' : ''}`,
      { id, containers: summary ? [summary] : [] },
      cancelCode(ctx.signal),
    );
  } finally {
    if (remove) {
      await client
        .request('DELETE', `/containers/${id}`, { query: { force: 1, v: 1 }, signal: AbortSignal.timeout(CLEANUP_MS) })
        .catch(() => undefined);
    }
  }
}

async function createContainer(client: DockerClient, body: DockerBody, signal: AbortSignal): Promise<string> {
  const res = await client.request('POST', '/containers/create', {
    query: { name: body.name },
    body: {
      Image: body.image,
      Cmd: body.cmd === undefined ? undefined : toArgv(body.cmd),
      Env: toEnvList(body.env),
      Labels: body.labels,
      WorkingDir: body.workdir,
      User: body.user,
      Tty: false,
      AttachStdout: true,
      AttachStderr: true,
      HostConfig: { NetworkMode: body.network_mode ?? 'host' },
    },
    signal,
  });
  if (res.status === 404) {
    throw new StepFailure(`docker run: no such image '${body.image}' at ${client.where} (images are not pulled: pull it first)`, undefined, 'DOCKER_NOT_FOUND');
  }
  if (res.status !== 201) throw new DockerApiError(res.status, res.text, `create a container from ${body.image}`);
  return (res.json as { Id: string }).Id;
}

async function readSummary(client: DockerClient, id: string, signal: AbortSignal): Promise<ContainerSummary> {
  const c = await inspectContainer(client, id, signal);
  if (!c) throw new StepFailure(`docker: container ${id.slice(0, 12)} vanished`, undefined, 'DOCKER_NOT_FOUND');
  return summarize(c);
}
