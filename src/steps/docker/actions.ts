/**
 * The heavy half of the `docker` step: the actions and the target checks of `plan --preflight`, on
 * the undici-based client. Imported by `./index.ts` on first use, never by `validate` or `plan`.
 */
import type { DockerClient } from './client.js';
import { changeState, inspectAction, waitHealthy } from './lifecycle.js';
import { imagesAction, psAction } from './list.js';
import { execAction, logsAction } from './output.js';
import { runAction } from './run.js';
import { TARGETED_ACTIONS, type DockerBody } from './schema.js';
import { describeTarget, resolveTargets, summarize } from './targets.js';
import { StepFailure, type PreflightCheck, type StepContext } from '../types.js';

function act(client: DockerClient, body: DockerBody, ctx: StepContext): Promise<Record<string, unknown>> {
  switch (body.action) {
    case 'start':
    case 'stop':
    case 'restart':
    case 'kill':
      return changeState(client, body, ctx);
    case 'inspect':
      return inspectAction(client, body, ctx);
    case 'wait_healthy':
      return waitHealthy(client, body, ctx);
    case 'logs':
      return logsAction(client, body, ctx);
    case 'exec':
      return execAction(client, body, ctx);
    case 'run':
      return runAction(client, body, ctx);
    case 'ps':
      return psAction(client, body, ctx);
    case 'images':
      return imagesAction(client, body, ctx);
  }
}

/**
 * The engine a step talks to: its connection's, or — with `on:` — the engine of the instance's host,
 * through that host's pooled ssh connection (the one its shell steps use).
 */
export async function engineOf(body: DockerBody, ctx: StepContext): Promise<DockerClient> {
  const client = await ctx.connection<DockerClient>(body.connection, 'docker');
  if (!ctx.remote) return client;
  if (!ctx.services) throw new StepFailure(`docker on ${ctx.remote.host.name}: the run's ssh pool is not available here`);
  if (!client.onHost) throw new StepFailure(`docker: connection '${body.connection}' cannot be used on the hosts of on:`);
  return client.onHost(ctx.services.ssh.host(ctx.remote.host.target));
}

export async function executeDocker(body: DockerBody, ctx: StepContext): Promise<Record<string, unknown>> {
  const client = await engineOf(body, ctx);
  // Every request carries ctx.signal; an abort surfaces as the signal's reason (or, for wait_healthy
  // and run, a StepFailure naming the state reached), which the interpreter turns into timed_out/cancelled.
  return act(client, body, ctx);
}

export async function preflightDocker(body: DockerBody, ctx: StepContext): Promise<PreflightCheck[]> {
  const client = await engineOf(body, ctx);
  if (TARGETED_ACTIONS.includes(body.action)) {
    const target = describeTarget(client, body);
    try {
      const found = (await resolveTargets(client, body, ctx.signal)).map(summarize);
      return [{ target, ok: true, detail: found.map((c) => `${c.name} ${c.state}${c.health ? ` (${c.health})` : ''}`).join(', ') }];
    } catch (err) {
      return [{ target, ok: false, detail: (err as Error).message }];
    }
  }
  if (body.action === 'run' && body.image !== undefined) {
    const res = await client.request('GET', `/images/${encodeURIComponent(body.image)}/json`, { signal: ctx.signal }).catch((err: Error) => err);
    const ok = !(res instanceof Error) && res.status === 200;
    const detail = res instanceof Error ? res.message : ok ? 'present' : `not present at ${client.where} (HTTP ${res.status})`;
    return [{ target: `image ${body.image}`, ok, detail }];
  }
  return [];
}
