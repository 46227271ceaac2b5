/**
 * Actions on existing containers: start, stop, restart, kill, inspect, wait_healthy.
 * Each resolves its target, acts on every container of it, then reports their state afterwards.
 */
import { parseDuration } from '../../dsl/duration.js';
import { sleep } from '../../interpreter/timers.js';
import { DockerApiError, type DockerClient } from './client.js';
import type { DockerBody } from './schema.js';
import {
  describeTarget,
  hasHealthcheck,
  inspectAll,
  listContainerIds,
  resolveTargets,
  serviceLabels,
  summarize,
  type ContainerInspect,
  type ContainerSummary,
} from './targets.js';
import { StepFailure, type StepContext } from '../types.js';

const POLL_MS = 500;

/** start | stop | restart | kill on every target container; `{ containers }` as they are afterwards. */
export async function changeState(client: DockerClient, body: DockerBody, ctx: StepContext): Promise<Record<string, unknown>> {
  const targets = await resolveTargets(client, body, ctx.signal);
  const query = stateQuery(body);
  await Promise.all(
    targets.map(async (c) => {
      const name = summarize(c).name;
      const res = await client.request('POST', `/containers/${c.Id}/${body.action}`, { query, signal: ctx.signal });
      // 304: already in the wanted state (start of a running / stop of a stopped container).
      if (res.status >= 300 && res.status !== 304) throw new DockerApiError(res.status, res.text, `${body.action} ${name}`);
      ctx.output('info', `${body.action} ${name}: ${res.status === 304 ? 'already done' : 'done'}\n`);
    }),
  );
  return { containers: await currentState(client, targets, ctx.signal) };
}

function stateQuery(body: DockerBody): Record<string, string | number | undefined> {
  if (body.action === 'kill') return { signal: body.signal ?? 'SIGKILL' };
  if ((body.action === 'stop' || body.action === 'restart') && body.grace !== undefined) return { t: graceSeconds(body.grace) };
  return {};
}

/** `grace` as whole seconds for `?t=` (rounded up: a 500ms grace must not become 0). */
export function graceSeconds(grace: string | number): number {
  if (typeof grace === 'number') return grace;
  const ms = parseDuration(grace);
  if (ms === undefined) throw new StepFailure(`docker: grace '${grace}' is not a duration (e.g. 10s)`, undefined, 'SCHEMA');
  return Math.ceil(ms / 1000);
}

export async function inspectAction(client: DockerClient, body: DockerBody, ctx: StepContext): Promise<Record<string, unknown>> {
  const targets = await resolveTargets(client, body, ctx.signal);
  return { containers: targets.map(summarize), inspect: targets };
}

/** Re-inspect the containers (an action changed them); removed ones are left out. */
export async function currentState(client: DockerClient, targets: ContainerInspect[], signal: AbortSignal): Promise<ContainerSummary[]> {
  return (await inspectAll(client, targets.map((c) => c.Id), signal)).map(summarize);
}

/** A container counts as ready when it runs and, if it has a healthcheck, reports healthy. */
function isReady(c: ContainerInspect): boolean {
  return c.State?.Status === 'running' && (!hasHealthcheck(c) || c.State?.Health?.Status === 'healthy');
}

/** Exited or dead, and no restart policy will bring it back: it cannot become healthy by waiting. */
function isGone(c: ContainerInspect): boolean {
  const restarts = ['always', 'unless-stopped', 'on-failure'].includes(c.HostConfig?.RestartPolicy?.Name ?? '');
  return (c.State?.Status === 'exited' || c.State?.Status === 'dead') && !restarts;
}

function describeState(s: ContainerSummary): string {
  return `${s.name} ${s.state}${s.health === null ? '' : ` (${s.health})`}`;
}

/**
 * Poll every 500 ms until every container of the target is ready. There is no deadline of its own:
 * the step's timeout (or `until.within`) aborts the signal, and the failure names the last state seen.
 * A container that exited or died with no restart policy fails the step at once.
 */
export async function waitHealthy(client: DockerClient, body: DockerBody, ctx: StepContext): Promise<Record<string, unknown>> {
  let targets = await resolveTargets(client, body, ctx.signal);
  let last = targets.map(summarize);
  let lastMessage = '';
  try {
    for (;;) {
      if (targets.length > 0 && targets.every(isReady)) return { containers: last };
      // Waiting out the timeout for a container that has stopped for good only delays the rollback.
      const gone = targets.filter(isGone);
      if (gone.length) {
        const why = gone.map((c) => `${summarize(c).name} ${c.State?.Status} (exit code ${c.State?.ExitCode ?? '?'})`).join(', ');
        throw new StepFailure(`docker: ${describeTarget(client, body)} will not become healthy: ${why}`, { containers: last }, 'CONTAINER_EXITED');
      }
      const message = last.map(describeState).join(', ') || 'no containers';
      if (message !== lastMessage) {
        ctx.progress({ message });
        lastMessage = message;
      }
      await sleep(POLL_MS, ctx.signal);
      targets = await lookAgain(client, body, targets, ctx.signal);
      last = targets.map(summarize);
    }
  } catch (err) {
    if (!ctx.signal.aborted) throw err;
    const state = last.map(describeState).join(', ') || 'no containers';
    throw new StepFailure(
      `docker: ${describeTarget(client, body)} not healthy when ${cancelWord(ctx.signal)}: ${state}`,
      { containers: last },
      cancelCode(ctx.signal),
    );
  }
}

/**
 * The target's containers now. A service's containers may be replaced while we wait (a recreate
 * leaves it with none for a moment), so a service is looked up again and may come back empty.
 */
async function lookAgain(client: DockerClient, body: DockerBody, before: ContainerInspect[], signal: AbortSignal) {
  if (body.service === undefined) return inspectAll(client, before.map((c) => c.Id), signal);
  return inspectAll(client, await listContainerIds(client, { label: serviceLabels(client, body.service) }, true, signal), signal);
}

const isTimeout = (signal: AbortSignal) => (signal.reason as { name?: string } | undefined)?.name === 'TimeoutError';

/** STEP_TIMEOUT when the signal fired on a timeout (AbortSignal.timeout, or a reason named TimeoutError), else STEP_CANCELLED. */
export function cancelCode(signal: AbortSignal): string {
  return isTimeout(signal) ? 'STEP_TIMEOUT' : 'STEP_CANCELLED';
}

export function cancelWord(signal: AbortSignal): string {
  const reason = signal.reason as unknown;
  const why = reason instanceof Error ? reason.message : typeof reason === 'string' ? reason : '';
  return `${isTimeout(signal) ? 'timed out' : 'cancelled'}${why ? ` (${why})` : ''}`;
}
