/**
 * The `docker` step type and connection kind: the Docker Engine API (Docker, or Podman's
 * Docker-compatible service) over a unix socket or tcp, through undici. Only the description lives
 * here; the actions and the client (undici) are imported on first use, so `validate` and `plan`
 * never load them.
 */
import type { DockerClient } from './client.js';
import { resolveDockerHost, type DockerConnectionConfig } from './host.js';
import { dockerBodySchema, dockerConnectionSchema, type DockerBody } from './schema.js';
import type { ConnectionKind, PreflightCheck, StepContext, StepType } from '../types.js';

export type { DockerBody } from './schema.js';
export type { DockerClient } from './client.js';
export type { DockerConnectionConfig } from './host.js';

let actions: Promise<typeof import('./actions.js')> | undefined;
const loadActions = () => (actions ??= import('./actions.js'));
let remoteModule: Promise<typeof import('./remote.js')> | undefined;
const loadRemote = () => (remoteModule ??= import('./remote.js'));

async function executeDocker(body: DockerBody, ctx: StepContext): Promise<Record<string, unknown>> {
  return (await loadActions()).executeDocker(body, ctx);
}

async function preflightDocker(body: DockerBody, ctx: StepContext): Promise<PreflightCheck[]> {
  return (await loadActions()).preflightDocker(body, ctx);
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

export const dockerStep: StepType<DockerBody> = {
  name: 'docker',
  description: 'Docker Engine API: start, stop, restart, kill, inspect, logs, wait_healthy, exec, run, ps, images.',
  schema: dockerBodySchema,
  sideEffects: true,
  // Spec §12: these only look; start/stop/restart/kill/exec/run change containers.
  readOnly: (body) => ['inspect', 'logs', 'ps', 'images', 'wait_healthy'].includes(body.action),
  connectionKind: 'docker',
  // A string `cmd` runs through `sh -c`: values interpolated into it reach it as environment variables (spec §12).
  shellQuoted: ['cmd'],
  render: renderDocker,
  preflight: preflightDocker,
  execute: executeDocker,
};

function describeDocker(config: DockerConnectionConfig): string {
  const where = resolveDockerHost(config, process.env);
  return config.project ? `${where} (project ${config.project})` : where;
}

async function preflightConnection(client: DockerClient, config: DockerConnectionConfig): Promise<PreflightCheck> {
  // The client's own address: on a host of an `on:` it is that host's engine, not the connection's.
  const target = `docker ${client.where}${config.project ? ` (project ${config.project})` : ''}`;
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
  description:
    'A Docker Engine API: unix socket (`socket`) or `host` (unix://, tcp://, or ssh://user@host for the engine on that host), or `via` an ssh connection; default DOCKER_HOST, else /var/run/docker.sock.',
  schema: dockerConnectionSchema,
  open: async (config, ctx) => (await loadRemote()).openEngine(config, ctx),
  close: (client) => client.close(),
  preflight: preflightConnection,
  describe: describeDocker,
};
