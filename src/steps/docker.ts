/**
 * The `docker` step type and connection kind: the Docker Engine API (Docker, or Podman's
 * Docker-compatible service) over a unix socket or tcp, through undici.
 */
import { openDockerClient, type DockerClient, type DockerConnectionConfig, resolveDockerHost } from './docker-client.js';
import { changeState, inspectAction, waitHealthy } from './docker-lifecycle.js';
import { imagesAction, psAction } from './docker-list.js';
import { execAction, logsAction } from './docker-output.js';
import { runAction } from './docker-run.js';
import { dockerBodySchema, dockerConnectionSchema, TARGETED_ACTIONS, type DockerBody } from './docker-schema.js';
import { describeTarget, resolveTargets, summarize } from './docker-targets.js';
import type { ConnectionKind, PreflightCheck, StepContext, StepType } from './types.js';

export type { DockerBody } from './docker-schema.js';
export type { DockerClient, DockerConnectionConfig } from './docker-client.js';

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

async function executeDocker(body: DockerBody, ctx: StepContext): Promise<Record<string, unknown>> {
  const client = await ctx.connection<DockerClient>(body.connection, 'docker');
  // Every request carries ctx.signal; an abort surfaces as the signal's reason (or, for wait_healthy
  // and run, a StepFailure naming the state reached), which the interpreter turns into timed_out/cancelled.
  return act(client, body, ctx);
}

function renderDocker(body: DockerBody): string {
  const target = body.container !== undefined ? ` ${body.container}` : body.service !== undefined ? ` service ${body.service}` : '';
  const cmd = body.cmd === undefined ? '' : ` ${typeof body.cmd === 'string' ? body.cmd : body.cmd.join(' ')}`;
  const extra: string[] = [];
  if (body.grace !== undefined) extra.push(`grace ${body.grace}`);
  if (body.signal !== undefined) extra.push(body.signal);
  if (body.tail !== undefined) extra.push(`tail ${body.tail}`);
  if (body.reference !== undefined) extra.push(body.reference);
  if (body.filters !== undefined) extra.push(JSON.stringify(body.filters));
  const what = body.action === 'run' ? `run ${body.image}${cmd}` : `${body.action}${target}${body.action === 'exec' ? cmd : ''}`;
  return `docker ${what}${extra.length ? ` (${extra.join(', ')})` : ''} @${body.connection}`;
}

async function preflightDocker(body: DockerBody, ctx: StepContext): Promise<PreflightCheck[]> {
  const client = await ctx.connection<DockerClient>(body.connection, 'docker');
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

export const dockerStep: StepType<DockerBody> = {
  name: 'docker',
  description: 'Docker Engine API: start, stop, restart, kill, inspect, logs, wait_healthy, exec, run, ps, images.',
  schema: dockerBodySchema,
  sideEffects: true,
  connectionKind: 'docker',
  render: renderDocker,
  preflight: preflightDocker,
  execute: executeDocker,
};

function describeDocker(config: DockerConnectionConfig): string {
  const where = resolveDockerHost(config, process.env);
  return config.project ? `${where} (project ${config.project})` : where;
}

async function preflightConnection(client: DockerClient, config: DockerConnectionConfig): Promise<PreflightCheck> {
  const target = `docker ${describeDocker(config)}`;
  const signal = AbortSignal.timeout(10_000);
  try {
    const ping = await client.request('GET', '/_ping', { signal });
    if (ping.status !== 200) return { target, ok: false, detail: `GET /_ping answered HTTP ${ping.status}` };
    const version = await client.request('GET', '/version', { signal });
    const v = version.json as { Version?: string; ApiVersion?: string; Components?: Array<{ Name: string }> } | undefined;
    const engine = v?.Components?.[0]?.Name ?? 'Docker Engine';
    return { target, ok: true, detail: `${engine} ${v?.Version ?? '?'}, API ${v?.ApiVersion ?? '?'} (using ${await client.apiVersion(signal)})` };
  } catch (err) {
    return { target, ok: false, detail: (err as Error).message };
  }
}

export const dockerConnection: ConnectionKind<DockerConnectionConfig, DockerClient> = {
  name: 'docker',
  description: 'A Docker Engine API: unix socket (`socket`) or `host` (unix:// or tcp://); default DOCKER_HOST, else /var/run/docker.sock.',
  schema: dockerConnectionSchema,
  open: (config, ctx) => openDockerClient(config, ctx.env),
  close: (client) => client.close(),
  preflight: preflightConnection,
  describe: describeDocker,
};
